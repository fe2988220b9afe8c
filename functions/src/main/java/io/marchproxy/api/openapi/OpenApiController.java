package io.marchproxy.api.openapi;

import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirements;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Serves the OpenAPI document generated at compile time, so the contract a client reads is always
 * the one the running code was built from. Public: it describes the API, it grants nothing.
 */
@Controller
@Tag(name = "Operations")
class OpenApiController {

  /** Where micronaut-openapi writes the document (its file name is set in functions/pom.xml). */
  static final String DOCUMENT = "META-INF/swagger/marchproxy-api.yml";

  static final String YAML = "application/yaml";

  private volatile Document document;

  private record Document(byte[] bytes, String etag) {}

  @Get(uri = "/openapi.yml", produces = YAML)
  @Operation(summary = "The OpenAPI 3 document of this API")
  @SecurityRequirements
  HttpResponse<byte[]> openApi(HttpRequest<?> request) {
    Document d = document();
    if (d.etag().equals(request.getHeaders().get(HttpHeaders.IF_NONE_MATCH))) {
      return HttpResponse.<byte[]>status(HttpStatus.NOT_MODIFIED)
          .header(HttpHeaders.ETAG, d.etag());
    }
    return HttpResponse.ok(d.bytes())
        .contentType(YAML)
        .header(HttpHeaders.ETAG, d.etag())
        // Clients revalidate: a redeploy may change the contract under the same URL.
        .header(HttpHeaders.CACHE_CONTROL, "no-cache");
  }

  /** Read once, on first use: a Lambda cold start that never serves it never pays for it. */
  private Document document() {
    Document d = document;
    if (d == null) {
      d = load();
      document = d;
    }
    return d;
  }

  private static Document load() {
    try (InputStream in = OpenApiController.class.getClassLoader().getResourceAsStream(DOCUMENT)) {
      if (in == null) {
        throw new IllegalStateException(DOCUMENT + " is missing: the build did not generate it");
      }
      byte[] bytes = in.readAllBytes();
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(bytes);
      return new Document(bytes, "\"" + HexFormat.of().formatHex(hash, 0, 16) + "\"");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

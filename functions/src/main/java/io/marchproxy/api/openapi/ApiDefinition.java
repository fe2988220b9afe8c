package io.marchproxy.api.openapi;

import io.micronaut.openapi.annotation.OpenAPIInclude;
import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeIn;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.info.License;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.annotations.tags.Tag;

/**
 * The head of the OpenAPI document that micronaut-openapi writes at compile time from the
 * controllers (served at {@code /openapi.yml}, see docs/openapi.md). Nothing reads this class at
 * run time.
 *
 * <p>Every operation requires a bearer token (an access JWT from {@code /api/v1/auth/login} or an
 * API token {@code mpt_…}) unless it declares an empty {@code @SecurityRequirements}.
 */
@OpenAPIDefinition(
    info =
        @Info(
            title = "MarchProxy API",
            version = ApiDefinition.VERSION,
            description =
                "Control plane of a MarchProxy proxy fleet: clusters, services, routes, L4"
                    + " mappings, certificates, proxies, license, revisions and audit. Errors are"
                    + " application/problem+json (RFC 9457).",
            license = @License(name = "Proprietary")),
    security = @SecurityRequirement(name = ApiDefinition.BEARER))
@SecurityScheme(
    name = ApiDefinition.BEARER,
    type = SecuritySchemeType.HTTP,
    scheme = "bearer",
    description = "An access JWT from POST /api/v1/auth/login, or an API token (mpt_…)")
@SecurityScheme(
    name = ApiDefinition.CLUSTER_KEY,
    type = SecuritySchemeType.APIKEY,
    in = SecuritySchemeIn.HEADER,
    paramName = "X-Cluster-Key",
    description = "A cluster API key (mpk_…): how proxies register and report")
// The health and metrics endpoints live in core, which this processor does not compile.
@OpenAPIInclude(
    classNames = "io.marchproxy.core.ops.OpsController",
    tags = @Tag(name = "Operations"))
public final class ApiDefinition {

  /** The version of the REST contract (the path prefix is its major: /api/v1). */
  public static final String VERSION = "1.0.0";

  /** The name of the bearer security scheme in the document. */
  public static final String BEARER = "bearer";

  /** The name of the proxies' cluster-key scheme ({@code X-Cluster-Key}) in the document. */
  public static final String CLUSTER_KEY = "clusterKey";

  private ApiDefinition() {}
}

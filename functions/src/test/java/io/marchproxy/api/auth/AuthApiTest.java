package io.marchproxy.api.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class AuthApiTest extends ApiTest {

  @Test
  void loginGivesAnAccessTokenThatWorksAndARefreshTokenThatRotates() {
    var tokens = login("admin", ADMIN_PASSWORD).expect(200);
    assertThat(tokens.str("tokenType")).isEqualTo("Bearer");
    assertThat(tokens.map().get("expiresIn")).isEqualTo(900);
    String access = tokens.str("accessToken");
    String refresh = tokens.str("refreshToken");
    assertThat(refresh).startsWith("mpr_");

    var me = get("/api/v1/auth/me", access).expect(200);
    assertThat(me.str("username")).isEqualTo("admin");
    assertThat(me.str("role")).isEqualTo("admin");

    var rotated = post("/api/v1/auth/refresh", Map.of("refreshToken", refresh), null).expect(200);
    String refresh2 = rotated.str("refreshToken");
    assertThat(refresh2).isNotEqualTo(refresh);
    get("/api/v1/auth/me", rotated.str("accessToken")).expect(200);

    // The old refresh token used again: the whole session is revoked, the new one too.
    post("/api/v1/auth/refresh", Map.of("refreshToken", refresh), null)
        .expectProblem(401, "unauthorized");
    post("/api/v1/auth/refresh", Map.of("refreshToken", refresh2), null)
        .expectProblem(401, "unauthorized");
  }

  @Test
  void logoutRevokesTheRefreshToken() {
    String refresh = login("admin", ADMIN_PASSWORD).expect(200).str("refreshToken");
    call("POST", "/api/v1/auth/logout", Map.of("refreshToken", refresh), null).expect(204);
    post("/api/v1/auth/refresh", Map.of("refreshToken", refresh), null)
        .expectProblem(401, "unauthorized");
  }

  @Test
  void wrongPasswordAndUnknownUserLookTheSame() {
    var wrong = login("admin", "not-the-password").expectProblem(401, "unauthorized");
    var unknown = login("nobody", "not-the-password").expectProblem(401, "unauthorized");
    assertThat(wrong.str("detail"))
        .isEqualTo(unknown.str("detail"))
        .isEqualTo("invalid username or password");
    assertThat(wrong.body()).doesNotContain("not-the-password");
  }

  @Test
  void missingFieldsAreListed() {
    var p = post("/api/v1/auth/login", Map.of(), null).expectProblem(400, "validation-failed");
    assertThat(p.body()).contains("\"field\":\"username\"").contains("\"field\":\"password\"");
    post("/api/v1/auth/login", "{not json", null).expectProblem(400, "bad-request");
  }

  @Test
  void requestsWithoutOrWithBadTokensAre401WithAChallenge() {
    var none = get("/api/v1/auth/me", null).expectProblem(401, "unauthorized");
    assertThat(none.header("WWW-Authenticate")).startsWith("Bearer");
    get("/api/v1/auth/me", "garbage").expectProblem(401, "unauthorized");
    String access = admin();
    String tampered = access.substring(0, access.length() - 3) + "abc";
    get("/api/v1/auth/me", tampered).expectProblem(401, "unauthorized");
    // alg "none" with our payload is refused.
    String[] parts = access.split("\\.");
    String none64 =
        java.util.Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes());
    get("/api/v1/auth/me", none64 + "." + parts[1] + ".").expectProblem(401, "unauthorized");
  }

  @Test
  void apiTokensAreShownOnceStoredHashedAndRevocable() {
    var created =
        post("/api/v1/auth/tokens", Map.of("name", "ci", "expiresInDays", 30), admin()).expect(201);
    String token = created.str("token");
    assertThat(token).startsWith("mpt_");
    assertThat(
            sql(
                "select count(*) from api_tokens where token_hash = encode(sha256(?::bytea), 'hex')",
                token))
        .isEqualTo("1");
    assertThat(sql("select count(*) from api_tokens where token_hash = ?", token)).isEqualTo("0");

    assertThat(get("/api/v1/auth/me", token).expect(200).str("authenticatedBy"))
        .startsWith("token mpt_");
    var listed = get("/api/v1/auth/tokens", admin()).expect(200);
    assertThat(listed.body()).contains(created.str("prefix")).doesNotContain(token);

    delete("/api/v1/auth/tokens/" + created.str("id"), admin()).expect(204);
    get("/api/v1/auth/me", token).expectProblem(401, "unauthorized");
  }

  @Test
  void anExpiredApiTokenIsRefused() {
    var created = post("/api/v1/auth/tokens", Map.of("name", "old"), admin()).expect(201);
    sql(
        "update api_tokens set expires_at = now() - interval '1 second' where id = ?::uuid",
        created.str("id"));
    get("/api/v1/auth/me", created.str("token")).expectProblem(401, "unauthorized");
  }

  @Test
  void invalidTokenRequestsAre400() {
    post("/api/v1/auth/tokens", Map.of("name", "Bad Name!"), admin())
        .expectProblem(400, "validation-failed");
    post("/api/v1/auth/tokens", Map.of("name", "ok", "expiresInDays", 0), admin())
        .expectProblem(400, "validation-failed");
  }
}

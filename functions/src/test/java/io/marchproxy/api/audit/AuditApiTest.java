package io.marchproxy.api.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.marchproxy.api.testing.ApiTest;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@MicronautTest(transactional = false)
class AuditApiTest extends ApiTest {

  @Test
  void everyWriteIsAuditedRedactedAndChainedAndTamperingIsDetected() {
    String cluster = createCluster("audited");
    var svc =
        post(
                "/api/v1/clusters/" + cluster + "/services",
                Map.of(
                    "name",
                    "a",
                    "protocol",
                    "http",
                    "endpoints",
                    List.of(Map.of("host", "10.0.0.1", "port", 80)),
                    "auth",
                    Map.of("mode", "token")),
                admin())
            .expect(201);
    @SuppressWarnings("unchecked")
    String token = (String) ((Map<String, Object>) svc.map().get("credential")).get("token");
    post(
            "/api/v1/users",
            Map.of("username", "auditor", "password", "auditor-password-1", "role", "viewer"),
            admin())
        .expect(201);

    var events = get("/api/v1/audit?limit=50", admin()).expect(200);
    assertThat(events.items())
        .extracting(m -> m.get("action"))
        .contains(
            "cluster.create",
            "service.create",
            "service.credential.create",
            "user.create",
            "auth.login");
    assertThat(events.body()).doesNotContain("auditor-password-1").doesNotContain(token);
    assertThat(events.items().getFirst().get("actor").toString()).startsWith("admin (");
    assertThat(get("/api/v1/audit?clusterId=" + cluster, admin()).expect(200).items())
        .allMatch(m -> cluster.equals(m.get("clusterId")));

    var ok = get("/api/v1/audit/verify", admin()).expect(200);
    assertThat(ok.map().get("valid")).isEqualTo(true);
    assertThat(((Number) ok.map().get("events")).intValue()).isGreaterThanOrEqualTo(5);

    // Someone with database access edits history (the trigger forbids it; a superuser disables it).
    sql("alter table audit_events disable trigger audit_events_no_update");
    sql("update audit_events set actor = 'mallory' where action = 'user.create'");
    sql("alter table audit_events enable trigger audit_events_no_update");
    var broken = get("/api/v1/audit/verify", admin()).expect(200);
    assertThat(broken.map().get("valid")).isEqualTo(false);
    assertThat(broken.str("reason")).contains("does not match its hash");
    assertThat(broken.str("firstBrokenSeq"))
        .isEqualTo(sql("select seq from audit_events where action = 'user.create'"));
  }

  @Test
  void auditRowsCannotBeUpdatedOrDeleted() {
    post("/api/v1/auth/tokens", Map.of("name", "for-audit"), admin()).expect(201);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> sql("delete from audit_events"))
        .hasStackTraceContaining("append-only");
  }
}

package io.marchproxy.api.lambda;

import static org.assertj.core.api.Assertions.assertThat;

import io.micronaut.core.convert.ConversionService;
import io.micronaut.function.aws.proxy.payload2.APIGatewayV2HTTPEventServletRequest;
import io.micronaut.http.HttpRequest;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ApiGatewayRequestsTest {

  @Test
  void sourceIpComesFromTheRequestContextNotFromHeaders() {
    var event =
        ApiGatewayEvents.request("GET", "/healthz", Map.of("X-Forwarded-For", "10.9.9.9"), null);
    var request =
        new APIGatewayV2HTTPEventServletRequest<>(event, null, ConversionService.SHARED, null);

    assertThat(ApiGatewayRequests.sourceIp(request)).contains(ApiGatewayEvents.SOURCE_IP);
  }

  @Test
  void emptyOutsideApiGateway() {
    assertThat(ApiGatewayRequests.sourceIp(HttpRequest.GET("/healthz"))).isEmpty();
  }
}

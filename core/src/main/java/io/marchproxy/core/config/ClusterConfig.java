package io.marchproxy.core.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.UUID;

/**
 * The cluster config document: a cluster's whole desired state, as stored in each revision and
 * translated by xds-service. Deterministic: lists sorted by name, no timestamps of its own.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterConfig(
    int schema,
    Cluster cluster,
    List<Service> services,
    List<Route> routes,
    List<Mapping> mappings,
    List<Certificate> certificates) {

  public static final int SCHEMA = 1;

  @Serdeable
  public record Cluster(UUID id, String name) {}

  /** Active caller credentials: sha256 of tokens and ids of encrypted JWT secrets. */
  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Service(
      UUID id, String name, String protocol, ServiceSpec spec, List<Credential> credentials) {}

  @Serdeable
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Credential(
      UUID id, String kind, @Nullable String tokenSha256, @Nullable String expiresAt) {}

  @Serdeable
  public record Route(UUID id, String name, RouteSpec spec) {}

  @Serdeable
  public record Mapping(UUID id, String name, String protocol, int listenPort, MappingSpec spec) {}

  @Serdeable
  public record Certificate(
      UUID id, String name, List<String> sans, String fingerprintSha256, String notAfter) {}
}

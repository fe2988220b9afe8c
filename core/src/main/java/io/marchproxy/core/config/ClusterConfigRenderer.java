package io.marchproxy.core.config;

import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.micronaut.json.JsonMapper;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Renders a cluster's rows into its {@link ClusterConfig} document, and the document into the exact
 * JSON text that is stored and hashed. Run inside the writing transaction.
 */
@Singleton
public final class ClusterConfigRenderer {

  /** A rendered document: its JSON text and that text's sha256. */
  public record Rendered(ClusterConfig config, String json, String sha256) {}

  /**
   * Specs parsed from their stored text, by that text: a write to one service of 1,000 re-reads all
   * 1,000 rows, and 999 of them are the same text as last time. Values are immutable records;
   * bounded by clearing (a cluster's specs refill it on the next write).
   */
  private static final int PARSED_MAX = 50_000;

  private final Map<String, Object> parsed = new ConcurrentHashMap<>();
  private final Db db;
  private final JsonMapper json;

  public ClusterConfigRenderer(Db db, JsonMapper json) {
    this.db = db;
    this.json = json;
  }

  public Optional<Rendered> render(UUID clusterId) {
    Optional<ClusterConfig.Cluster> cluster =
        db.one(
            "select id, name from clusters where id = ?",
            rs -> new ClusterConfig.Cluster(Db.uuid(rs, "id"), rs.getString("name")),
            clusterId);
    return cluster.map(c -> rendered(load(c)));
  }

  public Rendered rendered(ClusterConfig config) {
    String text = write(config);
    return new Rendered(config, text, Tokens.sha256Hex(text));
  }

  public String write(ClusterConfig config) {
    try {
      return new String(json.writeValueAsBytes(config), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public ClusterConfig read(String document) {
    try {
      return json.readValue(document, ClusterConfig.class);
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable cluster config document", e);
    }
  }

  private ClusterConfig load(ClusterConfig.Cluster cluster) {
    UUID id = cluster.id();
    Map<UUID, List<ClusterConfig.Credential>> credentials =
        db
            .list(
                "select s.id, s.service_id, s.kind, s.token_hash, s.expires_at from service_secrets s"
                    + " join services v on v.id = s.service_id"
                    + " where v.cluster_id = ? and s.revoked_at is null order by s.created_at, s.id",
                rs ->
                    Map.entry(
                        Db.uuid(rs, "service_id"),
                        new ClusterConfig.Credential(
                            Db.uuid(rs, "id"),
                            rs.getString("kind"),
                            rs.getString("token_hash"),
                            Optional.ofNullable(Db.instant(rs, "expires_at"))
                                .map(Object::toString)
                                .orElse(null))),
                id)
            .stream()
            .collect(
                Collectors.groupingBy(
                    Map.Entry::getKey,
                    Collectors.mapping(Map.Entry::getValue, Collectors.toList())));
    List<ClusterConfig.Service> services =
        db.list(
            "select id, name, protocol, spec::text as spec from services where cluster_id = ?"
                + " order by name",
            rs -> {
              UUID sid = Db.uuid(rs, "id");
              return new ClusterConfig.Service(
                  sid,
                  rs.getString("name"),
                  rs.getString("protocol"),
                  parseSpec(rs.getString("spec"), ServiceSpec.class),
                  credentials.getOrDefault(sid, List.of()));
            },
            id);
    List<ClusterConfig.Route> routes =
        db.list(
            "select id, name, spec::text as spec from routes where cluster_id = ? order by name",
            rs ->
                new ClusterConfig.Route(
                    Db.uuid(rs, "id"),
                    rs.getString("name"),
                    parseSpec(rs.getString("spec"), RouteSpec.class)),
            id);
    List<ClusterConfig.Mapping> mappings =
        db.list(
            "select id, name, protocol, listen_port, spec::text as spec from mappings"
                + " where cluster_id = ? order by name",
            rs ->
                new ClusterConfig.Mapping(
                    Db.uuid(rs, "id"),
                    rs.getString("name"),
                    rs.getString("protocol"),
                    rs.getInt("listen_port"),
                    parseSpec(rs.getString("spec"), MappingSpec.class)),
            id);
    List<ClusterConfig.Certificate> certificates =
        db.list(
            "select id, name, sans, fingerprint_sha256, not_after from certificates"
                + " where cluster_id = ? order by name",
            rs ->
                new ClusterConfig.Certificate(
                    Db.uuid(rs, "id"),
                    rs.getString("name"),
                    Db.strings(rs, "sans"),
                    rs.getString("fingerprint_sha256"),
                    Db.instant(rs, "not_after").toString()),
            id);
    return new ClusterConfig(
        ClusterConfig.SCHEMA, cluster, services, routes, mappings, certificates);
  }

  private <T> T parseSpec(String text, Class<T> type) {
    if (text == null) {
      return parse(text, type);
    }
    Object hit = parsed.get(text);
    if (type.isInstance(hit)) {
      return type.cast(hit);
    }
    T value = parse(text, type);
    if (parsed.size() >= PARSED_MAX) {
      parsed.clear();
    }
    parsed.put(text, value);
    return value;
  }

  public <T> T parse(String text, Class<T> type) {
    try {
      return json.readValue(text, type);
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable " + type.getSimpleName(), e);
    }
  }

  public String toJson(Object value) {
    try {
      return new String(json.writeValueAsBytes(value), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

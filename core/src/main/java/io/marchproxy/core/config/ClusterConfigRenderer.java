package io.marchproxy.core.config;

import io.marchproxy.core.crypto.Tokens;
import io.marchproxy.core.db.Db;
import io.micronaut.json.JsonMapper;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
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

  /**
   * A service row as last rendered: the row's identity ({@code xmin}, the id of the transaction
   * that wrote this row version, and the row's version), the record built from it, and that
   * record's JSON once written. A write to one service of 1,000 fetches and writes one spec; the
   * other 999 are recognised by their row identity alone.
   */
  private record RenderedService(String row, ClusterConfig.Service service, String json) {}

  private final Map<UUID, RenderedService> services = new ConcurrentHashMap<>();
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
    return cluster.map(
        c -> {
          ClusterConfig config = load(c);
          String text = writeReusingServices(config);
          return new Rendered(config, text, Tokens.sha256Hex(text));
        });
  }

  /**
   * Exactly {@link #write}'s text, with each service's JSON written once per service record: the
   * document is written without its services, and their JSON is put where the empty list was (a
   * key's quotes inside a string value are escaped, so {@code "services":[]} is found only as the
   * key itself).
   */
  private String writeReusingServices(ClusterConfig config) {
    if (config.services() == null || config.services().isEmpty()) {
      return write(config);
    }
    String shell =
        write(
            new ClusterConfig(
                config.schema(),
                config.cluster(),
                List.of(),
                config.routes(),
                config.mappings(),
                config.certificates()));
    String empty = "\"services\":[]";
    int at = shell.indexOf(empty);
    if (at < 0 || shell.indexOf(empty, at + 1) >= 0) {
      return write(config);
    }
    int open = at + empty.length() - 1;
    StringBuilder out = new StringBuilder(shell.length() + config.services().size() * 512);
    out.append(shell, 0, open);
    boolean first = true;
    for (ClusterConfig.Service service : config.services()) {
      if (!first) {
        out.append(',');
      }
      first = false;
      out.append(serviceJson(service));
    }
    out.append(shell, open, shell.length());
    return out.toString();
  }

  private String serviceJson(ClusterConfig.Service service) {
    RenderedService known = service.id() == null ? null : services.get(service.id());
    if (known != null && known.service() == service && known.json() != null) {
      return known.json();
    }
    String text = toJson(service);
    if (known != null && known.service() == service) {
      services.put(service.id(), new RenderedService(known.row(), service, text));
    }
    return text;
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
    List<ClusterConfig.Service> services = loadServices(id, credentials);
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

  /**
   * The cluster's services, by name. Rows whose identity ({@code xmin}, version) is the one last
   * rendered keep their record; only the others' specs are fetched and parsed. The caller holds the
   * cluster's lock, so the rows cannot change between the two reads.
   */
  private List<ClusterConfig.Service> loadServices(
      UUID clusterId, Map<UUID, List<ClusterConfig.Credential>> credentials) {
    record Row(UUID id, String name, String protocol, String row) {}
    List<Row> rows =
        db.list(
            "select id, name, protocol, xmin::text || ':' || version as row from services"
                + " where cluster_id = ? order by name",
            rs ->
                new Row(
                    Db.uuid(rs, "id"),
                    rs.getString("name"),
                    rs.getString("protocol"),
                    rs.getString("row")),
            clusterId);
    List<UUID> stale = new ArrayList<>();
    for (Row r : rows) {
      RenderedService known = services.get(r.id());
      if (known == null || !known.row().equals(r.row())) {
        stale.add(r.id());
      }
    }
    Map<UUID, Map.Entry<String, String>> specs = new HashMap<>();
    if (!stale.isEmpty()) {
      db.list(
              "select id, xmin::text || ':' || version as row, spec::text as spec from services"
                  + " where id = any(?::uuid[])",
              rs ->
                  Map.entry(
                      Db.uuid(rs, "id"), Map.entry(rs.getString("row"), rs.getString("spec"))),
              stale)
          .forEach(e -> specs.put(e.getKey(), e.getValue()));
    }
    if (services.size() > PARSED_MAX) {
      services.clear();
    }
    List<ClusterConfig.Service> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      List<ClusterConfig.Credential> creds = credentials.getOrDefault(r.id(), List.of());
      RenderedService known = services.get(r.id());
      Map.Entry<String, String> fetched = specs.get(r.id());
      if (fetched == null && known != null && known.row().equals(r.row())) {
        // The row is as last rendered (its name and protocol with it); credentials live in their
        // own table and may have changed.
        ClusterConfig.Service same = known.service();
        if (!same.credentials().equals(creds)) {
          same = new ClusterConfig.Service(r.id(), r.name(), r.protocol(), same.spec(), creds);
          services.put(r.id(), new RenderedService(known.row(), same, null));
        }
        out.add(same);
        continue;
      }
      if (fetched == null) {
        throw new IllegalStateException(
            "service " + r.id() + " changed while its cluster was locked");
      }
      String specText = fetched.getValue();
      ClusterConfig.Service service =
          new ClusterConfig.Service(
              r.id(),
              r.name(),
              r.protocol(),
              specText == null ? null : parseSpec(specText, ServiceSpec.class),
              creds);
      services.put(r.id(), new RenderedService(fetched.getKey(), service, null));
      out.add(service);
    }
    return out;
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

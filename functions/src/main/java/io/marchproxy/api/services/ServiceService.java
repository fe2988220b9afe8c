package io.marchproxy.api.services;

import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.desiredstate.ListCache;
import io.marchproxy.api.desiredstate.SpecRow;
import io.marchproxy.api.desiredstate.SpecStore;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.config.ServiceSpec;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Backend services of a cluster and their caller credentials. */
@Singleton
public class ServiceService {

  public static final SpecStore.Kind KIND =
      new SpecStore.Kind("services", "service", List.of("protocol"));

  @Serdeable
  public record Created(
      ServiceView service, @Nullable ServiceCredentials.CreatedCredential credential) {}

  private final SpecStore store;
  private final ListCache lists;
  private final ServiceCredentials credentials;
  private final ClusterConfigRenderer json;
  private final Db db;

  ServiceService(
      ListCache lists,
      SpecStore store,
      ServiceCredentials credentials,
      ClusterConfigRenderer json,
      Db db) {
    this.store = store;
    this.lists = lists;
    this.credentials = credentials;
    this.json = json;
    this.db = db;
  }

  ServiceView view(SpecRow row) {
    ServiceSpec s = json.parse(row.specJson(), ServiceSpec.class);
    return new ServiceView(
        row.id(),
        row.clusterId(),
        row.name(),
        (String) row.columns().get("protocol"),
        s.endpoints(),
        s.lbPolicy(),
        s.healthCheck(),
        s.tls(),
        s.timeouts(),
        s.auth(),
        row.version(),
        row.createdAt(),
        row.updatedAt());
  }

  @Transactional
  public Created create(Actor actor, UUID clusterId, ServiceRequest req) {
    req.validate();
    ServiceView created =
        store.create(
            actor,
            KIND,
            clusterId,
            req.name(),
            Map.of("protocol", req.protocol()),
            json.toJson(req.toSpec()),
            this::view);
    ServiceCredentials.CreatedCredential credential = null;
    if (!req.authMode().equals("none")) {
      credential = credentials.create(actor, clusterId, created.id(), req.authMode());
    }
    return new Created(created, credential);
  }

  @Transactional
  public ServiceView update(
      Actor actor, UUID clusterId, UUID id, Long expectedVersion, ServiceRequest req) {
    req.validate();
    ServiceView before = get(actor, clusterId, id);
    if (!before.protocol().equals(req.protocol())) {
      requireUnreferenced(clusterId, before.name(), "change the protocol of");
    }
    if (!before.name().equals(req.name())) {
      requireUnreferenced(clusterId, before.name(), "rename");
    }
    return store.update(
        actor,
        KIND,
        clusterId,
        id,
        expectedVersion,
        req.name(),
        Map.of("protocol", req.protocol()),
        json.toJson(req.toSpec()),
        this::view);
  }

  @Transactional
  public void delete(Actor actor, UUID clusterId, UUID id, Long expectedVersion) {
    ServiceView s = get(actor, clusterId, id);
    requireUnreferenced(clusterId, s.name(), "delete");
    store.delete(actor, KIND, clusterId, id, expectedVersion, this::view);
  }

  @Transactional
  public ServiceView get(Actor actor, UUID clusterId, UUID id) {
    return view(store.get(actor, KIND, clusterId, id));
  }

  /** The page as JSON, served from memory while the cluster's revision stands. */
  public byte[] list(Actor actor, UUID clusterId, PageRequest page) {
    actor.requireRead(clusterId);
    return lists.json(
        clusterId,
        "services",
        page,
        () -> {
          Page<SpecRow> rows = store.list(actor, KIND, clusterId, page);
          return new Page<>(rows.items().stream().map(this::view).toList(), rows.nextCursor());
        });
  }

  @Transactional
  public List<ServiceCredentials.Credential> credentials(Actor actor, UUID clusterId, UUID id) {
    get(actor, clusterId, id);
    return credentials.list(id);
  }

  @Transactional
  public ServiceCredentials.CreatedCredential createCredential(
      Actor actor, UUID clusterId, UUID id) {
    store.lockCluster(actor, clusterId);
    return credentials.create(actor, clusterId, id, get(actor, clusterId, id).auth().mode());
  }

  @Transactional
  public ServiceCredentials.Rotated rotateCredential(
      Actor actor, UUID clusterId, UUID id, UUID credentialId, Duration grace) {
    store.lockCluster(actor, clusterId);
    return credentials.rotate(
        actor, clusterId, id, get(actor, clusterId, id).auth().mode(), credentialId, grace);
  }

  @Transactional
  public void revokeCredential(Actor actor, UUID clusterId, UUID id, UUID credentialId) {
    store.lockCluster(actor, clusterId);
    get(actor, clusterId, id);
    credentials.revoke(actor, clusterId, id, credentialId);
  }

  /** Routes and mappings name services; those references must keep resolving. */
  private void requireUnreferenced(UUID clusterId, String serviceName, String verb) {
    List<String> users =
        db.list(
            """
        select 'route ' || name from routes where cluster_id = ?
          and exists (select 1 from jsonb_array_elements(spec -> 'backends') b where b ->> 'service' = ?)
        union all
        select 'mapping ' || name from mappings where cluster_id = ?
          and (spec ->> 'service' = ? or jsonb_exists(coalesce(spec -> 'allowedSources' -> 'services', '[]'::jsonb), ?))
        order by 1
        """,
            rs -> rs.getString(1),
            clusterId,
            serviceName,
            clusterId,
            serviceName,
            serviceName);
    if (!users.isEmpty()) {
      throw ApiException.conflict(
          "cannot " + verb + " service '" + serviceName + "': used by " + String.join(", ", users));
    }
  }
}

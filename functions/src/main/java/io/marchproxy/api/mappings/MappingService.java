package io.marchproxy.api.mappings;

import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.desiredstate.ListCache;
import io.marchproxy.api.desiredstate.SpecRow;
import io.marchproxy.api.desiredstate.SpecStore;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.api.services.ServiceService;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.config.MappingSpec;
import io.marchproxy.core.db.Db;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** L4 mappings of a cluster. */
@Singleton
public class MappingService {

  public static final SpecStore.Kind KIND =
      new SpecStore.Kind("mappings", "mapping", List.of("protocol", "listen_port"));

  private final SpecStore store;
  private final ListCache lists;
  private final ClusterConfigRenderer json;
  private final Db db;

  MappingService(ListCache lists, SpecStore store, ClusterConfigRenderer json, Db db) {
    this.store = store;
    this.lists = lists;
    this.json = json;
    this.db = db;
  }

  MappingView view(SpecRow row) {
    MappingSpec s = json.parse(row.specJson(), MappingSpec.class);
    return new MappingView(
        row.id(),
        row.clusterId(),
        row.name(),
        (String) row.columns().get("protocol"),
        ((Number) row.columns().get("listen_port")).intValue(),
        s.service(),
        s.allowedSources(),
        s.perSourceLimits(),
        s.bandwidthClass(),
        s.idleTimeoutMs(),
        s.sendProxyProtocol(),
        Boolean.TRUE.equals(s.acceptProxyProtocol()),
        row.version(),
        row.createdAt(),
        row.updatedAt());
  }

  private static Map<String, Object> columns(MappingRequest req) {
    Map<String, Object> cols = new LinkedHashMap<>();
    cols.put("protocol", req.protocol());
    cols.put("listen_port", req.listenPort());
    return cols;
  }

  @Transactional
  public MappingView create(Actor actor, UUID clusterId, MappingRequest req) {
    req.validate();
    store.lockCluster(actor, clusterId);
    checkReferences(clusterId, req, null);
    return store.create(
        actor, KIND, clusterId, req.name(), columns(req), json.toJson(req.toSpec()), this::view);
  }

  @Transactional
  public MappingView update(
      Actor actor, UUID clusterId, UUID id, Long expectedVersion, MappingRequest req) {
    req.validate();
    store.lockCluster(actor, clusterId);
    checkReferences(clusterId, req, id);
    return store.update(
        actor,
        KIND,
        clusterId,
        id,
        expectedVersion,
        req.name(),
        columns(req),
        json.toJson(req.toSpec()),
        this::view);
  }

  @Transactional
  public void delete(Actor actor, UUID clusterId, UUID id, Long expectedVersion) {
    store.delete(actor, KIND, clusterId, id, expectedVersion, this::view);
  }

  @Transactional
  public MappingView get(Actor actor, UUID clusterId, UUID id) {
    return view(store.get(actor, KIND, clusterId, id));
  }

  /** The page as JSON, served from memory while the cluster's revision stands. */
  public byte[] list(Actor actor, UUID clusterId, PageRequest page) {
    actor.requireRead(clusterId);
    return lists.json(
        clusterId,
        "mappings",
        page,
        () -> {
          Page<SpecRow> rows = store.list(actor, KIND, clusterId, page);
          return new Page<>(rows.items().stream().map(this::view).toList(), rows.nextCursor());
        });
  }

  private void checkReferences(UUID clusterId, MappingRequest req, UUID self) {
    Optional<String> taken =
        db.one(
            "select name from mappings where cluster_id = ? and protocol = ? and listen_port = ? and id is distinct from ?",
            rs -> rs.getString(1),
            clusterId,
            req.protocol(),
            req.listenPort(),
            self);
    if (taken.isPresent()) {
      throw ApiException.conflict(
          req.protocol()
              + " port "
              + req.listenPort()
              + " is already used by mapping '"
              + taken.get()
              + "'");
    }
    var c = new Checks();
    Optional<SpecRow> svc = store.findByName(ServiceService.KIND, clusterId, req.service());
    if (svc.isEmpty()) {
      c.check(false, "service", "no service named '" + req.service() + "' in this cluster");
    } else {
      String protocol = (String) svc.get().columns().get("protocol");
      boolean fits =
          req.protocol().equals("udp") ? protocol.equals("udp") : !protocol.equals("udp");
      c.check(
          fits,
          "service",
          "is a " + protocol + " service and cannot take " + req.protocol() + " traffic");
    }
    if (req.allowedSources() != null && req.allowedSources().services() != null) {
      for (int i = 0; i < req.allowedSources().services().size(); i++) {
        String name = req.allowedSources().services().get(i);
        c.check(
            store.findByName(ServiceService.KIND, clusterId, name).isPresent(),
            "allowedSources.services[" + i + "]",
            "no service named '" + name + "' in this cluster");
      }
    }
    c.throwIfInvalid();
  }
}

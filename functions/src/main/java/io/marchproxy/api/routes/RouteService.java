package io.marchproxy.api.routes;

import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.desiredstate.ListCache;
import io.marchproxy.api.desiredstate.SpecRow;
import io.marchproxy.api.desiredstate.SpecStore;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.api.services.ServiceService;
import io.marchproxy.core.config.ClusterConfigRenderer;
import io.marchproxy.core.config.RouteSpec;
import io.marchproxy.core.config.ServiceSpec;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** L7 routes of a cluster. */
@Singleton
public class RouteService {

  public static final SpecStore.Kind KIND = new SpecStore.Kind("routes", "route", List.of());

  private final SpecStore store;
  private final ListCache lists;
  private final ClusterConfigRenderer json;

  RouteService(ListCache lists, SpecStore store, ClusterConfigRenderer json) {
    this.store = store;
    this.lists = lists;
    this.json = json;
  }

  RouteView view(SpecRow row) {
    RouteSpec s = json.parse(row.specJson(), RouteSpec.class);
    return new RouteView(
        row.id(),
        row.clusterId(),
        row.name(),
        s.hosts(),
        s.match(),
        s.backends(),
        s.timeoutMs(),
        s.retries(),
        s.auth(),
        s.feature(),
        s.priority(),
        row.version(),
        row.createdAt(),
        row.updatedAt());
  }

  @Transactional
  public RouteView create(Actor actor, UUID clusterId, RouteRequest req) {
    req.validate();
    store.lockCluster(actor, clusterId);
    checkReferences(clusterId, req);
    return store.create(
        actor, KIND, clusterId, req.name(), Map.of(), json.toJson(req.toSpec()), this::view);
  }

  @Transactional
  public RouteView update(
      Actor actor, UUID clusterId, UUID id, Long expectedVersion, RouteRequest req) {
    req.validate();
    store.lockCluster(actor, clusterId);
    checkReferences(clusterId, req);
    return store.update(
        actor,
        KIND,
        clusterId,
        id,
        expectedVersion,
        req.name(),
        Map.of(),
        json.toJson(req.toSpec()),
        this::view);
  }

  @Transactional
  public void delete(Actor actor, UUID clusterId, UUID id, Long expectedVersion) {
    store.delete(actor, KIND, clusterId, id, expectedVersion, this::view);
  }

  @Transactional
  public RouteView get(Actor actor, UUID clusterId, UUID id) {
    return view(store.get(actor, KIND, clusterId, id));
  }

  /** The page as JSON, served from memory while the cluster's revision stands. */
  public byte[] list(Actor actor, UUID clusterId, PageRequest page) {
    actor.requireRead(clusterId);
    return lists.json(
        clusterId,
        "routes",
        page,
        () -> {
          Page<SpecRow> rows = store.list(actor, KIND, clusterId, page);
          return new Page<>(rows.items().stream().map(this::view).toList(), rows.nextCursor());
        });
  }

  /**
   * Every backend must be an HTTP or gRPC service of this cluster; auth needs a credentialed one.
   */
  private void checkReferences(UUID clusterId, RouteRequest req) {
    var c = new Checks();
    boolean anyAuth = false;
    for (int i = 0; i < req.backends().size(); i++) {
      String name = req.backends().get(i).service();
      Optional<SpecRow> svc = store.findByName(ServiceService.KIND, clusterId, name);
      String f = "backends[" + i + "].service";
      if (svc.isEmpty()) {
        c.check(false, f, "no service named '" + name + "' in this cluster");
        continue;
      }
      String protocol = (String) svc.get().columns().get("protocol");
      c.check(
          protocol.equals("http") || protocol.equals("grpc"),
          f,
          "is a " + protocol + " service; routes need http or grpc (use a mapping for L4)");
      ServiceSpec spec = json.parse(svc.get().specJson(), ServiceSpec.class);
      anyAuth |= spec.auth() != null && !"none".equals(spec.auth().mode());
    }
    boolean required = req.auth() != null && Boolean.TRUE.equals(req.auth().required());
    c.check(
        !required || anyAuth,
        "auth.required",
        "needs a backend service with caller auth (token or jwt)");
    c.throwIfInvalid();
  }
}

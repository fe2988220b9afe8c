package io.marchproxy.xds.publish;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.xds.cache.NodeGroups;
import io.marchproxy.xds.cache.ResourceSet;
import io.marchproxy.xds.cache.Snapshot;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.cache.TypeUrls;
import io.marchproxy.xds.load.LoadedRevision;
import io.marchproxy.xds.load.RevisionListener;
import io.marchproxy.xds.report.ProxyReports;
import io.marchproxy.xds.translate.DataPlane;
import io.marchproxy.xds.translate.EnvoyResources;
import io.marchproxy.xds.translate.L7Filters;
import io.marchproxy.xds.translate.Translator;
import io.marchproxy.xds.validate.Problem;
import io.marchproxy.xds.validate.Validation;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins the stages: each loaded revision is translated for every data-plane kind, validated, and —
 * only when it has no problems — published to the cache as that (cluster, kind)'s snapshot. A
 * revision with problems is recorded as failed, with the problems, and the proxies keep the last
 * good snapshot. A failure to build (a certificate key that cannot be opened, the database gone
 * while filters load) is a problem like any other, never an empty snapshot.
 */
@Singleton
public class Publisher implements RevisionListener {

  private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);

  /** Every kind a cluster's proxies can be; each gets its own snapshot. */
  static final List<String> KINDS = List.of("envoy", "l4", "grpc");

  /** What one kind of one revision became. */
  public record Outcome(String kind, List<Problem> problems) {
    public boolean published() {
      return problems.isEmpty();
    }
  }

  private final SnapshotCache cache;
  private final CertificateSecrets certificates;
  private final PublicationLog log;
  private final L7Filters l7Filters;
  private final MeterRegistry metrics;
  private final ProxyReports reports;
  private final Map<String, Timer> buildTimers = new ConcurrentHashMap<>();

  Publisher(
      SnapshotCache cache,
      CertificateSecrets certificates,
      PublicationLog log,
      @Nullable L7Filters l7Filters,
      MeterRegistry metrics,
      ProxyReports reports) {
    this.reports = reports;
    this.cache = cache;
    this.certificates = certificates;
    this.log = log;
    this.l7Filters = l7Filters == null ? L7Filters.NONE : l7Filters;
    this.metrics = metrics;
  }

  @Override
  public void onRevision(LoadedRevision revision) {
    for (String kind : KINDS) {
      publish(revision, kind);
    }
  }

  @Override
  public void onClusterRemoved(UUID clusterId) {
    for (String kind : KINDS) {
      cache.clearSnapshot(NodeGroups.group(clusterId, kind));
    }
  }

  Outcome publish(LoadedRevision revision, String kind) {
    long start = System.nanoTime();
    List<Problem> problems;
    Snapshot snapshot = null;
    try {
      DataPlane plane = plane(kind);
      ClusterConfig doc = revision.document();
      EnvoyResources resources = Translator.translate(doc, plane);
      problems = new ArrayList<>();
      if (plane instanceof DataPlane.Envoy) {
        CertificateSecrets.Rendered secrets = certificates.render(doc.certificates());
        for (CertificateSecrets.Missing m : secrets.missing()) {
          problems.add(new Problem("certificate", m.certificate(), m.reason()));
        }
        resources =
            new EnvoyResources(
                resources.listeners(),
                resources.routes(),
                resources.clusters(),
                resources.endpoints(),
                secrets.secrets());
      }
      problems.addAll(Validation.problems(doc, resources, plane));
      if (problems.isEmpty()) {
        Snapshot previous =
            cache.snapshot(NodeGroups.group(revision.clusterId(), kind)).orElse(null);
        snapshot = snapshot(revision, resources, previous);
      }
    } catch (RuntimeException e) {
      LOG.error(
          "Could not build the {} snapshot of revision {} of cluster {}",
          kind,
          revision.revision(),
          revision.clusterName(),
          e);
      problems = List.of(new Problem("revision", String.valueOf(revision.revision()), describe(e)));
    }
    buildTimer(kind).record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    if (snapshot != null) {
      String group = NodeGroups.group(revision.clusterId(), kind);
      cache.setSnapshot(group, snapshot);
      reports.published(group, snapshot);
    } else {
      Counter.builder("xds_revision_failures_total")
          .tag("kind", kind)
          .description(
              "Revisions not published because they failed validation or could not be built")
          .register(metrics)
          .increment();
      LOG.warn(
          "Revision {} of cluster {} not published to {} proxies (they keep their last good"
              + " configuration): {}",
          revision.revision(),
          revision.clusterName(),
          kind,
          problems);
    }
    log.record(revision.clusterId(), revision.revision(), kind, problems);
    return new Outcome(kind, List.copyOf(problems));
  }

  private DataPlane plane(String kind) {
    DataPlane plane = DataPlane.of(kind);
    return plane instanceof DataPlane.Envoy envoy ? envoy.withL7Filters(l7Filters) : plane;
  }

  /**
   * The snapshot of those resources; a resource that is the same message as in {@code previous}
   * (the translator's memo returns it for an unchanged input) keeps its version without rehashing.
   */
  static Snapshot snapshot(LoadedRevision revision, EnvoyResources r, Snapshot previous) {
    Map<String, ResourceSet> byType = new LinkedHashMap<>();
    Map<String, Message> secrets = new LinkedHashMap<>();
    for (Secret s : r.secrets()) {
      secrets.put(s.getName(), s);
    }
    Map<String, Map<String, ? extends Message>> resources = new LinkedHashMap<>();
    resources.put(TypeUrls.LISTENER, r.listenersByName());
    resources.put(TypeUrls.ROUTE, r.routesByName());
    resources.put(TypeUrls.CLUSTER, r.clustersByName());
    resources.put(TypeUrls.ENDPOINT, r.endpointsByName());
    resources.put(TypeUrls.SECRET, secrets);
    resources.forEach(
        (type, byName) ->
            byType.put(
                type, ResourceSet.of(type, byName, previous == null ? null : previous.get(type))));
    return new Snapshot(revision.revision(), Map.copyOf(byType), revision.committedAt());
  }

  private Timer buildTimer(String kind) {
    return buildTimers.computeIfAbsent(
        kind,
        k ->
            Timer.builder("xds_snapshot_build")
                .tag("kind", k)
                .description("Translating, validating and hashing one revision for one kind")
                .publishPercentileHistogram()
                .register(metrics));
  }

  private static String describe(RuntimeException e) {
    String message = e.getMessage();
    return "could not be built: "
        + e.getClass().getSimpleName()
        + (message == null || message.isBlank() ? "" : ": " + message);
  }
}

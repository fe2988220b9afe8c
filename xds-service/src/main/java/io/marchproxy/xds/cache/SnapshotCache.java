package io.marchproxy.xds.cache;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.WatchCancelledException;
import io.envoyproxy.controlplane.cache.XdsRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;

/**
 * MarchProxy's cache behind java-control-plane's server (which only knows {@link ConfigWatcher}).
 * Unlike the stock SimpleCache it: serves nothing to a group before its first snapshot; never
 * answers a NACK by re-sending the rejected version; publishes without blocking the caller (each
 * proxy's sends run in order on a shared pool); sends clusters and endpoints before the listeners
 * and routes that use them; and computes delta responses from what a reconnecting client says it
 * holds, removing what it should no longer have.
 */
public final class SnapshotCache implements ConfigWatcher {

  private record OpenWatch(String nodeId, Watch watch) {}

  private record OpenDeltaWatch(String nodeId, DeltaWatch watch) {}

  private final NodeGroups groups;
  private final ExecutorService pool;
  private final Map<String, Snapshot> snapshots = new ConcurrentHashMap<>();
  private final Map<String, Set<OpenWatch>> watches = new ConcurrentHashMap<>();
  private final Map<String, Set<OpenDeltaWatch>> deltaWatches = new ConcurrentHashMap<>();

  /** "nodeId|typeUrl" → the version that node rejected; not sent to it again. */
  private final Map<String, String> rejected = new ConcurrentHashMap<>();

  private final Map<String, SerialExecutor> senders = new ConcurrentHashMap<>();

  /**
   * "nodeId|typeUrl" → the names of by-name resources this node's stream has been answered for:
   * what it holds (whatever versions), or asked for while they did not exist. Decides whether a
   * request asks for something new.
   */
  private final Map<String, Sent> delivered = new ConcurrentHashMap<>();

  /** What one node's stream was sent of one type, and the last request it was all sent for. */
  private static final class Sent {
    final Set<String> names = ConcurrentHashMap.newKeySet();

    /** Every name of this request is in {@link #names}: the next equal request adds nothing. */
    volatile Names covered;

    /**
     * The request list last found equal to {@link #covered}: a watch answered on every publish
     * keeps its request, so its 1,000 names are compared once per request, not once per response.
     */
    volatile List<String> coveredList;
  }

  /**
   * "group|typeUrl" → the last by-name selection resolved against that group's resources: every
   * proxy of a group asks for the same names, so the 10,000 lookups of 10,000 names are done once
   * per snapshot instead of once per proxy and response.
   */
  private final Map<String, Resolved> resolved = new ConcurrentHashMap<>();

  /**
   * "group|typeUrl" → the names last asked for there, one object for every stream that asks for the
   * same ones: the by-name selection is then found by identity.
   */
  private final Map<String, Names> canonical = new ConcurrentHashMap<>();

  /** "group|typeUrl" → the last few versions of that type's resources, to diff against. */
  private final Map<String, Map<String, ResourceSet>> history = new ConcurrentHashMap<>();

  private static final int HISTORY = 8;

  /**
   * Types a state-of-the-world client subscribes to by name and whose responses need not repeat
   * unchanged resources (xDS: only Listener and Cluster responses must carry every resource).
   */
  private static final Set<String> INCREMENTAL =
      Set.of(TypeUrls.ROUTE, TypeUrls.ENDPOINT, TypeUrls.SECRET);

  public SnapshotCache(NodeGroups groups, ExecutorService pool) {
    this.groups = groups;
    this.pool = pool;
  }

  public Optional<Snapshot> snapshot(String group) {
    return Optional.ofNullable(snapshots.get(group));
  }

  /** A proxy rejected {@code version} of a type: remember it so it is not sent again. */
  public void rejected(String nodeId, String typeUrl, String version) {
    rejected.put(nodeId + "|" + typeUrl, version);
  }

  public void forgetNode(String nodeId) {
    rejected.keySet().removeIf(k -> k.startsWith(nodeId + "|"));
    delivered.keySet().removeIf(k -> k.startsWith(nodeId + "|"));
    senders.remove(nodeId);
  }

  /** Publishes a group's new snapshot; returns at once, delivery runs on the pool. */
  public void setSnapshot(String group, Snapshot next) {
    Snapshot previous;
    List<OpenWatch> due = new ArrayList<>();
    List<OpenDeltaWatch> dueDelta = new ArrayList<>();
    synchronized (lock(group)) {
      previous = snapshots.put(group, next);
      remember(group, next);
      for (OpenWatch w : watches.getOrDefault(group, Set.of())) {
        if (respondable(next, w.watch().request(), w.nodeId())) {
          due.add(w);
        }
      }
      due.forEach(w -> watches.get(group).remove(w));
      Set<OpenDeltaWatch> open = deltaWatches.get(group);
      if (open != null) {
        dueDelta.addAll(open);
        open.clear();
      }
    }
    List<String> order = order(previous, next);
    due.sort(
        (a, b) ->
            Integer.compare(
                order.indexOf(a.watch().request().getTypeUrl()),
                order.indexOf(b.watch().request().getTypeUrl())));
    for (OpenWatch w : due) {
      sender(w.nodeId()).execute(() -> respond(w.nodeId(), group, w.watch(), next));
    }
    for (OpenDeltaWatch w : dueDelta) {
      sender(w.nodeId())
          .execute(
              () -> {
                if (!respondDelta(w.nodeId(), w.watch(), next)) {
                  registerDelta(group, w); // nothing changed for this client: keep waiting
                }
              });
    }
  }

  public void clearSnapshot(String group) {
    snapshots.remove(group);
    history.keySet().removeIf(k -> k.startsWith(group + "|"));
    resolved.keySet().removeIf(k -> k.startsWith(group + "|"));
    canonical.keySet().removeIf(k -> k.startsWith(group + "|"));
  }

  /** Additions go clusters-first; when clusters disappear, listeners and routes go first. */
  static List<String> order(Snapshot previous, Snapshot next) {
    boolean clustersRemoved =
        previous != null
            && !next.get(TypeUrls.CLUSTER)
                .byName()
                .keySet()
                .containsAll(previous.get(TypeUrls.CLUSTER).byName().keySet());
    return clustersRemoved
        ? List.of(
            TypeUrls.LISTENER, TypeUrls.ROUTE, TypeUrls.SECRET, TypeUrls.CLUSTER, TypeUrls.ENDPOINT)
        : Snapshot.ADD_ORDER;
  }

  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> consumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    Watch watch = new Watch(ads, allowDefaultEmptyEdsUpdate, request, consumer);
    String nodeId = groups.nodeIdOf(request.v3Request().getNode());
    String group = groups.groupOf(request.v3Request().getNode());
    if (group == null) {
      return watch; // unauthenticated node: never answered (the server refuses such streams first)
    }
    var open = new OpenWatch(nodeId, watch);
    synchronized (lock(group)) {
      Snapshot s = snapshots.get(group);
      if (s != null && respondable(s, request, nodeId)) {
        sender(nodeId).execute(() -> respond(nodeId, group, watch, s));
        return watch;
      }
      watches.computeIfAbsent(group, g -> ConcurrentHashMap.newKeySet()).add(open);
    }
    watch.setStop(() -> watches.getOrDefault(group, Set.of()).remove(open));
    return watch;
  }

  /**
   * Respond when the client's version differs from ours, or when it now asks by name for resources
   * it was never sent (Envoy subscribes to the endpoints of a new cluster at the EDS version it
   * already holds) — unless ours is exactly what it rejected.
   */
  private boolean respondable(Snapshot s, XdsRequest request, String nodeId) {
    ResourceSet set = s.get(request.getTypeUrl());
    if (set.version().equals(request.getVersionInfo())
        && !asksForUnsent(
            set,
            request.getResourceNamesList(),
            delivered.get(nodeId + "|" + request.getTypeUrl()),
            groups.groupOf(request.v3Request().getNode()))) {
      return false;
    }
    String refused = rejected.get(nodeId + "|" + request.getTypeUrl());
    return refused == null || !refused.equals(set.version());
  }

  private boolean asksForUnsent(ResourceSet set, List<String> names, Sent sent, String group) {
    if (names.isEmpty() || isWildcardType(set.typeUrl())) {
      return false;
    }
    if (sent != null && namesOf(group + "|" + set.typeUrl(), sent, names) == sent.covered) {
      sent.coveredList = names;
      return false; // the very names this stream was last answered for
    }
    Set<String> known = sent == null ? Set.of() : sent.names;
    for (String n : names) {
      if (!known.contains(n) && set.get(n) != null) {
        return true;
      }
    }
    return false;
  }

  private static boolean isWildcardType(String typeUrl) {
    return typeUrl.equals(TypeUrls.LISTENER) || typeUrl.equals(TypeUrls.CLUSTER);
  }

  /**
   * Answers a watch. For routes, endpoints and secrets asked for by name, a client whose version we
   * still know is sent only what it lacks: resources that changed since its version and those it
   * was never sent (one endpoint change among 1,000 services is one assignment, not 1,000). A
   * client whose version we do not know gets everything it asks for.
   */
  private void respond(String nodeId, String group, Watch watch, Snapshot s) {
    XdsRequest request = watch.request();
    String type = request.getTypeUrl();
    ResourceSet set = s.get(type);
    List<String> names = request.getResourceNamesList();
    Selection resources;
    boolean byName = !names.isEmpty() && !names.equals(List.of("*"));
    if (byName && INCREMENTAL.contains(type)) {
      Sent sent = delivered.computeIfAbsent(nodeId + "|" + type, k -> new Sent());
      Names asked = namesOf(group + "|" + type, sent, names);
      Resolved r = resolve(group + "|" + type, set, asked);
      ResourceSet held =
          history.getOrDefault(group + "|" + type, Map.of()).get(request.getVersionInfo());
      if (held == null) {
        resources = r.all;
      } else if (asked == sent.covered) {
        resources = r.changedSince(held); // nothing asked for is new to this stream
      } else {
        List<ResourceSet.Entry> out = new ArrayList<>(r.entries.length);
        for (int i = 0; i < r.entries.length; i++) {
          ResourceSet.Entry e = r.entries[i];
          if (!sent.names.contains(r.names[i])
              || !e.version().equals(versionIn(held, r.names[i]))) {
            out.add(e);
          }
        }
        resources = Selection.of(out);
      }
      if (asked != sent.covered) {
        sent.names.addAll(asked.list); // the shared list's strings: one copy for all streams
        sent.covered = asked;
      }
      sent.coveredList = names;
    } else {
      resources = selected(set, names);
    }
    try {
      watch.respond(Response.create(request, resources, set.version()));
    } catch (WatchCancelledException e) {
      // the stream is gone; nothing to do
    }
  }

  private static String versionIn(ResourceSet set, String name) {
    ResourceSet.Entry e = set.entry(name);
    return e == null ? null : e.version();
  }

  private Resolved resolve(String key, ResourceSet set, Names asked) {
    Resolved r = resolved.get(key);
    if (r == null || r.set != set || r.asked != asked) {
      r = new Resolved(set, asked);
      resolved.put(key, r);
    }
    return r;
  }

  /**
   * A request's names as one shared object: the stream's own when its list is the one it was last
   * answered for (no comparison), else the canonical object of that group and type when its list is
   * this very list (no comparison either) or equal to it (one per new request), else this list
   * becomes the canonical one. Equal name lists are then the same object, and compared by identity.
   */
  private Names namesOf(String groupType, Sent sent, List<String> list) {
    if (sent != null && sent.coveredList == list && sent.covered != null) {
      return sent.covered;
    }
    Names known = canonical.get(groupType);
    if (known != null && known.list == list) {
      return known; // the very list (requests' names are shared by serve.SharedNames)
    }
    Names n = new Names(list);
    if (known != null && known.equals(n)) {
      return known;
    }
    if (sent != null && n.equals(sent.covered)) {
      return sent.covered;
    }
    canonical.put(groupType, n);
    return n;
  }

  /** A request's resource names, compared by content; the hash is computed once. */
  static final class Names {
    private final List<String> list;
    private final int hash;

    Names(List<String> list) {
      this.list = list;
      this.hash = list.hashCode();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Names n
          && (n == this || n.hash == hash && n.list.size() == list.size() && n.list.equals(list));
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /**
   * Requested names looked up in one resource set, once: the existing ones, each once, in request
   * order; and, per version a proxy holds, those of them whose content changed since it.
   */
  static final class Resolved {
    final ResourceSet set;
    final Names asked;
    final String[] names;
    final ResourceSet.Entry[] entries;
    final Selection all;
    private final Map<ResourceSet, Selection> changed =
        java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

    Resolved(ResourceSet set, Names asked) {
      this.set = set;
      this.asked = asked;
      List<String> n = new ArrayList<>(asked.list.size());
      List<ResourceSet.Entry> e = new ArrayList<>(asked.list.size());
      Set<String> seen = HashSet.newHashSet(asked.list.size());
      for (String name : asked.list) {
        ResourceSet.Entry entry = seen.add(name) ? set.entry(name) : null;
        if (entry != null) {
          n.add(name);
          e.add(entry);
        }
      }
      names = n.toArray(new String[0]);
      entries = e.toArray(new ResourceSet.Entry[0]);
      all = Selection.of(e);
    }

    /** Those whose version differs from {@code held}'s (or that {@code held} lacks). */
    Selection changedSince(ResourceSet held) {
      if (changed.size() > HISTORY) {
        changed.clear();
      }
      return changed.computeIfAbsent(
          held,
          h -> {
            List<ResourceSet.Entry> out = new ArrayList<>();
            for (int i = 0; i < entries.length; i++) {
              if (!entries[i].version().equals(versionIn(h, names[i]))) {
                out.add(entries[i]);
              }
            }
            return Selection.of(out);
          });
    }
  }

  private void remember(String group, Snapshot next) {
    for (ResourceSet set : next.byType().values()) {
      if (INCREMENTAL.contains(set.typeUrl())) {
        history
            .computeIfAbsent(
                group + "|" + set.typeUrl(),
                k ->
                    java.util.Collections.synchronizedMap(
                        new LinkedHashMap<>() {
                          @Override
                          protected boolean removeEldestEntry(Map.Entry<String, ResourceSet> e) {
                            return size() > HISTORY;
                          }
                        }))
            .put(set.version(), set);
      }
    }
  }

  /**
   * Listeners and clusters are wildcard; routes, endpoints and secrets are asked for by name. A
   * wildcard selection is the set's own {@link ResourceSet#all()}: the same object for every
   * stream.
   */
  private static Selection selected(ResourceSet set, List<String> names) {
    boolean byName =
        !names.isEmpty() && !isWildcardType(set.typeUrl()) && !names.equals(List.of("*"));
    if (!byName) {
      return set.all();
    }
    List<ResourceSet.Entry> out = new ArrayList<>(names.size());
    Set<String> seen = HashSet.newHashSet(names.size());
    for (String n : names) {
      ResourceSet.Entry e = seen.add(n) ? set.entry(n) : null;
      if (e != null) {
        out.add(e);
      }
    }
    return Selection.of(out);
  }

  @Override
  public DeltaWatch createDeltaWatch(
      DeltaXdsRequest request,
      String requesterVersion,
      Map<String, String> resourceVersions,
      Set<String> pendingResources,
      boolean isWildcard,
      Consumer<DeltaResponse> consumer,
      boolean hasClusterChanged) {
    // On a fresh stream the server tracks nothing yet; what the client says it holds counts.
    Map<String, String> tracked = new HashMap<>(resourceVersions);
    if (tracked.isEmpty()) {
      tracked.putAll(request.getInitialResourceVersionsMap());
    }
    DeltaWatch watch =
        new DeltaWatch(request, tracked, pendingResources, requesterVersion, isWildcard, consumer);
    String nodeId = groups.nodeIdOf(request.v3Request().getNode());
    String group = groups.groupOf(request.v3Request().getNode());
    if (group == null) {
      return watch;
    }
    // Checked and registered under the group's lock, as setSnapshot collects the open watches:
    // a snapshot published in between would otherwise never reach this watch.
    synchronized (lock(group)) {
      Snapshot s = snapshots.get(group);
      if (s != null && respondDelta(nodeId, watch, s)) {
        return watch;
      }
      registerDelta(group, new OpenDeltaWatch(nodeId, watch));
    }
    return watch;
  }

  private void registerDelta(String group, OpenDeltaWatch w) {
    synchronized (lock(group)) {
      deltaWatches.computeIfAbsent(group, g -> ConcurrentHashMap.newKeySet()).add(w);
    }
    w.watch().setStop(() -> deltaWatches.getOrDefault(group, Set.of()).remove(w));
  }

  /**
   * Sends what changed for this client (and what it must remove); false when nothing did, or when
   * what would be sent is the version this client rejected.
   */
  private boolean respondDelta(String nodeId, DeltaWatch watch, Snapshot s) {
    DeltaXdsRequest request = watch.request();
    ResourceSet set = s.get(request.getTypeUrl());
    String refused = rejected.get(nodeId + "|" + request.getTypeUrl());
    if (refused != null && refused.equals(set.version())) {
      return false; // the client rejected exactly this; wait for the next version
    }
    boolean wildcard = watch.isWildcard();
    Set<String> interested = new HashSet<>(watch.trackedResources().keySet());
    interested.addAll(watch.pendingResources());
    Map<String, VersionedResource<?>> changed = new LinkedHashMap<>();
    set.byName()
        .forEach(
            (name, message) -> {
              boolean wanted = wildcard || interested.contains(name);
              String version = set.resourceVersions().get(name);
              if (wanted
                  && (!version.equals(watch.trackedResources().get(name))
                      || watch.pendingResources().contains(name))) {
                changed.put(name, VersionedResource.create(message, version));
              }
            });
    List<String> removed = new ArrayList<>();
    for (String held : watch.trackedResources().keySet()) {
      if (!set.byName().containsKey(held)) {
        removed.add(held);
      }
    }
    if (changed.isEmpty() && removed.isEmpty()) {
      return false;
    }
    try {
      watch.respond(DeltaResponse.create(request, changed, removed, set.version()));
    } catch (WatchCancelledException e) {
      // stream gone
    }
    return true;
  }

  private SerialExecutor sender(String nodeId) {
    return senders.computeIfAbsent(nodeId, n -> new SerialExecutor(pool));
  }

  private final Map<String, Object> locks = new ConcurrentHashMap<>();

  private Object lock(String group) {
    return locks.computeIfAbsent(group, g -> new Object());
  }
}

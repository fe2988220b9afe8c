package io.marchproxy.api.desiredstate;

import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.revisions.RevisionWatch;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.TransactionOperations;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Pages of a cluster's services, routes and mappings, kept in memory for as long as the cluster
 * stays at the revision they were read at. Their content is fully determined by the revision: every
 * write that changes them commits a new one, whose notification drops the entry.
 */
@Singleton
public class ListCache {

  static final int MAX_ENTRIES = 2000;

  private record Entry(long revision, Page<?> page) {}

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final RevisionWatch watch;
  private final Db db;
  private final TransactionOperations<Connection> tx;

  ListCache(@Nullable RevisionWatch watch, Db db, TransactionOperations<Connection> tx) {
    this.watch = watch;
    this.db = db;
    this.tx = tx;
  }

  /** No transaction on a hit: a hit costs a map lookup. */
  @SuppressWarnings("unchecked")
  public <V> Page<V> page(
      UUID clusterId, String kind, PageRequest request, Supplier<Page<V>> load) {
    String key = clusterId + "|" + kind + "|" + request.limit() + "|" + request.after();
    if (watch != null) {
      Optional<Long> known = watch.known(clusterId);
      Entry e = entries.get(key);
      if (known.isPresent() && e != null && e.revision() == known.get()) {
        return (Page<V>) e.page();
      }
    }
    // The revision is read before the rows: if a write lands in between, the entry is tagged
    // older than its content and the write's notification drops it.
    record Read<V>(long revision, Page<V> page) {}
    Read<V> read =
        tx.executeRead(
            status ->
                new Read<>(
                    db.one(
                            "select current_revision from clusters where id = ?",
                            rs -> rs.getLong(1),
                            clusterId)
                        .orElseThrow(() -> ApiException.notFound("cluster", clusterId)),
                    load.get()));
    long revision = read.revision();
    Page<V> page = read.page();
    if (watch != null) {
      if (entries.size() >= MAX_ENTRIES) {
        entries.clear();
      }
      entries.put(key, new Entry(revision, page));
      watch.learned(clusterId, revision);
    }
    return page;
  }
}

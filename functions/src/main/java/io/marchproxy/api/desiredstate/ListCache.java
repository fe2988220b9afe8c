package io.marchproxy.api.desiredstate;

import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.revisions.RevisionWatch;
import io.marchproxy.core.db.Db;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.json.JsonMapper;
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

  /** A page and, once asked for, its JSON: serving a cached list then copies bytes only. */
  private static final class Entry {
    final long revision;
    final Page<?> page;
    volatile byte[] json;

    Entry(long revision, Page<?> page) {
      this.revision = revision;
      this.page = page;
    }
  }

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final RevisionWatch watch;
  private final Db db;
  private final TransactionOperations<Connection> tx;
  private final JsonMapper json;

  ListCache(
      @Nullable RevisionWatch watch, Db db, TransactionOperations<Connection> tx, JsonMapper json) {
    this.watch = watch;
    this.db = db;
    this.tx = tx;
    this.json = json;
  }

  /** No transaction on a hit: a hit costs a map lookup. */
  @SuppressWarnings("unchecked")
  public <V> Page<V> page(
      UUID clusterId, String kind, PageRequest request, Supplier<Page<V>> load) {
    String key = key(clusterId, kind, request);
    if (watch != null) {
      Optional<Long> known = watch.known(clusterId);
      Entry e = entries.get(key);
      if (known.isPresent() && e != null && e.revision == known.get()) {
        return (Page<V>) e.page;
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

  /** The page as JSON bytes, serialized once per cached entry. */
  public <V> byte[] json(UUID clusterId, String kind, PageRequest request, Supplier<Page<V>> load) {
    Page<V> page = page(clusterId, kind, request, load);
    Entry e = entries.get(key(clusterId, kind, request));
    if (e != null && e.page == page) {
      byte[] cached = e.json;
      if (cached == null) {
        cached = serialize(page);
        e.json = cached;
      }
      return cached;
    }
    return serialize(page);
  }

  private byte[] serialize(Page<?> page) {
    try {
      return json.writeValueAsBytes(page);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String key(UUID clusterId, String kind, PageRequest request) {
    return clusterId + "|" + kind + "|" + request.limit() + "|" + request.after();
  }
}

package io.marchproxy.xds.serve;

import io.grpc.BindableService;
import io.grpc.ServerServiceDefinition;
import io.marchproxy.core.clusters.ClusterKeyVerifier;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.license.LicenseVerifier;
import io.marchproxy.xds.cache.SnapshotCache;
import io.marchproxy.xds.report.ProxyReports;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import io.micronaut.transaction.TransactionOperations;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.ExecutorService;

/** Stage 5, serve: ADS (state-of-the-world and delta) on the gRPC port, behind stream auth. */
@Factory
class AdsService {

  private final ExecutorService delivery = AdsServing.deliveryPool();

  @Singleton
  ProxyStreams proxyStreams(
      Db db,
      TransactionOperations<Connection> tx,
      LicenseVerifier license,
      ProxyReports reports,
      ClusterKeyVerifier keys) {
    return new ProxyStreams(db, tx, license, reports, keys);
  }

  @Singleton
  SnapshotCache snapshotCache(ProxyStreams streams, ProxyReports reports) {
    SnapshotCache cache = new SnapshotCache(streams, delivery);
    streams.attach(cache);
    reports.snapshotsFrom(group -> cache.snapshot(group).orElse(null));
    return cache;
  }

  @Bean
  @Singleton
  BindableService ads(SnapshotCache cache, ProxyStreams streams, ClusterKeyVerifier keys) {
    ServerServiceDefinition definition =
        AdsServing.definition(cache, List.of(streams), new StreamAuth(keys));
    return () -> definition;
  }

  @PreDestroy
  void stop() {
    delivery.shutdownNow();
  }
}

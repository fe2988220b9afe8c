package io.marchproxy.xds.load;

import io.marchproxy.core.config.ClusterConfig;
import java.time.Instant;
import java.util.UUID;

/** A cluster's current revision as stored by the API: the document xds-service translates. */
public record LoadedRevision(
    UUID clusterId,
    String clusterName,
    long revision,
    String contentHash,
    ClusterConfig document,
    Instant committedAt) {}

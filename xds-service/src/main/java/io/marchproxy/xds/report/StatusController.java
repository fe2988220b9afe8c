package io.marchproxy.xds.report;

import io.marchproxy.xds.load.RevisionLoader;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/** {@code GET /status} on the xds-service HTTP port: what this replica has loaded. */
@Controller("/status")
class StatusController {

  @Serdeable
  record Status(boolean initialLoadDone, Map<UUID, Long> clusterRevisions) {}

  private final RevisionLoader loader;

  StatusController(RevisionLoader loader) {
    this.loader = loader;
  }

  @Get
  Status status() {
    return new Status(loader.initialLoadDone(), new TreeMap<>(loader.currentRevisions()));
  }
}

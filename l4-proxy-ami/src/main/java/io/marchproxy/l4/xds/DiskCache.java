package io.marchproxy.l4.xds;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last configuration the proxy accepted, on local disk: one length-delimited DiscoveryResponse
 * per type, exactly as received. Written to a temporary file and renamed, so a crash mid-write
 * leaves the previous copy.
 */
public final class DiskCache {

  private static final Logger log = LoggerFactory.getLogger(DiskCache.class);

  private final Path file;

  public DiskCache(Path file) {
    this.file = file;
  }

  public Path file() {
    return file;
  }

  public void save(Resources resources) {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try (OutputStream out = Files.newOutputStream(tmp)) {
        for (DiscoveryResponse r : resources.asResponses()) {
          r.writeDelimitedTo(out);
        }
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      log.warn("could not write the config cache {}: {}", file, e.toString());
    }
  }

  /** Empty when there is no cache or it cannot be read. */
  public Optional<Resources> load() {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try (InputStream in = Files.newInputStream(file)) {
      List<DiscoveryResponse> responses = new ArrayList<>();
      DiscoveryResponse r;
      while ((r = DiscoveryResponse.parseDelimitedFrom(in)) != null) {
        responses.add(r);
      }
      return Optional.of(Resources.fromResponses(responses));
    } catch (IOException e) {
      log.warn("config cache {} is unreadable; ignoring it: {}", file, e.toString());
      return Optional.empty();
    }
  }
}

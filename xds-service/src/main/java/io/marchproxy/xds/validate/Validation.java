package io.marchproxy.xds.validate;

import io.marchproxy.core.config.ClusterConfig;
import io.marchproxy.xds.translate.DataPlane;
import io.marchproxy.xds.translate.EnvoyResources;
import java.util.ArrayList;
import java.util.List;

/**
 * Stage 3, validate: the document's problems, then the translation's. Empty means the snapshot may
 * be built; anything else keeps the last good snapshot and is recorded as the revision's failure.
 */
public final class Validation {

  private Validation() {}

  public static List<Problem> problems(
      ClusterConfig document, EnvoyResources resources, DataPlane plane) {
    List<Problem> out = new ArrayList<>(DocumentCheck.problems(document));
    out.addAll(ResourceCheck.problems(resources, plane));
    return List.copyOf(out);
  }
}

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

  /** The last document checked, with its problems: a revision is validated once per kind. */
  private record Checked(ClusterConfig document, List<Problem> problems) {}

  private static volatile Checked lastDocument;

  private Validation() {}

  public static List<Problem> problems(
      ClusterConfig document, EnvoyResources resources, DataPlane plane) {
    List<Problem> out = new ArrayList<>(documentProblems(document));
    out.addAll(ResourceCheck.problems(resources, plane));
    return List.copyOf(out);
  }

  /** The document's own problems; the same document object is checked once, not once per kind. */
  static List<Problem> documentProblems(ClusterConfig document) {
    Checked last = lastDocument;
    if (last != null && document != null && last.document() == document) {
      return last.problems();
    }
    List<Problem> problems = DocumentCheck.problems(document);
    lastDocument = new Checked(document, problems);
    return problems;
  }
}

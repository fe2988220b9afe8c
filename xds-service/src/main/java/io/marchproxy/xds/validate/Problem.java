package io.marchproxy.xds.validate;

/**
 * One reason a revision cannot be served. {@code resourceType} is an Envoy type ({@code Listener},
 * {@code RouteConfiguration}, {@code Cluster}, {@code ClusterLoadAssignment}) for a translation
 * problem, or a document entity ({@code service}, {@code route}, {@code mapping}, {@code
 * certificate}) for a problem in the cluster config document itself.
 */
public record Problem(String resourceType, String name, String message) {

  @Override
  public String toString() {
    return resourceType + " '" + name + "': " + message;
  }
}

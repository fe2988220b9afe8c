package io.marchproxy.api.auth;

import io.marchproxy.api.problem.ApiException;
import io.marchproxy.core.users.Role;
import java.util.Set;
import java.util.UUID;

/**
 * Who is calling: a user signed in with a password (access JWT) or an API token of that user.
 * {@code allowedClusters} is null when the user may see every cluster.
 */
public record Actor(
    UUID userId, String username, Role role, Set<UUID> allowedClusters, String via, String source) {

  /** How audit events name this actor. */
  public String auditName() {
    return username + " (" + via + ")";
  }

  public boolean isAdmin() {
    return role == Role.ADMIN;
  }

  public void requireAdmin() {
    if (role != Role.ADMIN) {
      throw ApiException.forbidden(
          "only admins may do this (you are " + role.name().toLowerCase() + ")");
    }
  }

  public boolean canSee(UUID clusterId) {
    return allowedClusters == null || allowedClusters.contains(clusterId);
  }

  /** Reading a cluster's state: any role, limited to the operator's clusters. */
  public void requireRead(UUID clusterId) {
    if (!canSee(clusterId)) {
      // Same answer as a cluster that does not exist: do not reveal it.
      throw ApiException.notFound("cluster", clusterId);
    }
  }

  /** Changing a cluster's desired state: operators (on their clusters) and admins. */
  public void requireWrite(UUID clusterId) {
    requireRead(clusterId);
    if (role == Role.VIEWER) {
      throw ApiException.forbidden("viewers may not change anything");
    }
  }
}

package io.marchproxy.core.users;

/** What a user may do: admins everything, operators change desired state, viewers read. */
public enum Role {
  ADMIN,
  OPERATOR,
  VIEWER
}

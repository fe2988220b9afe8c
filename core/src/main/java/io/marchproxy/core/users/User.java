package io.marchproxy.core.users;

import io.micronaut.data.annotation.DateCreated;
import io.micronaut.data.annotation.DateUpdated;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;
import java.util.UUID;

/** An operator account. The password is only ever held as a bcrypt hash. */
@MappedEntity("users")
public record User(
    @Id UUID id,
    String username,
    String passwordHash,
    Role role,
    @DateCreated Instant createdAt,
    @DateUpdated Instant updatedAt) {

  /** Never print the hash. */
  @Override
  public String toString() {
    return "User[" + username + ", " + role + "]";
  }
}

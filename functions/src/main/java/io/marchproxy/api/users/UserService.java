package io.marchproxy.api.users;

import io.marchproxy.api.audit.AuditLog;
import io.marchproxy.api.auth.Actor;
import io.marchproxy.api.paging.Page;
import io.marchproxy.api.paging.PageRequest;
import io.marchproxy.api.problem.ApiException;
import io.marchproxy.api.problem.ETags;
import io.marchproxy.core.db.Db;
import io.marchproxy.core.users.PasswordHasher;
import io.marchproxy.core.users.Role;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/** Operator accounts (admins manage them; everyone may change their own password). */
@Singleton
public class UserService {

  @Serdeable
  public record UserView(
      UUID id,
      String username,
      String role,
      @Nullable List<UUID> allowedClusters,
      boolean disabled,
      long version,
      Instant createdAt,
      Instant updatedAt) {

    static UserView of(UserAccount u) {
      return new UserView(
          u.id(),
          u.username(),
          u.role().name().toLowerCase(),
          u.allowedClusters() == null ? null : u.allowedClusters().stream().sorted().toList(),
          u.disabled(),
          u.version(),
          u.createdAt(),
          u.updatedAt());
    }
  }

  private final Db db;
  private final PasswordHasher hasher;
  private final AuditLog audit;

  UserService(Db db, PasswordHasher hasher, AuditLog audit) {
    this.db = db;
    this.hasher = hasher;
    this.audit = audit;
  }

  @Transactional
  public UserView create(
      Actor actor, String username, char[] password, Role role, @Nullable Set<UUID> clusters) {
    actor.requireAdmin();
    if (db.one("select 1 from users where username = ?", rs -> 1, username).isPresent()) {
      throw ApiException.conflict("a user named '" + username + "' already exists");
    }
    requireClustersExist(clusters);
    UUID id = UUID.randomUUID();
    db.update(
        "insert into users (id, username, password_hash, role, allowed_clusters) values (?, ?, ?, ?, ?)",
        id,
        username,
        hasher.hash(password),
        role.name(),
        clusters == null ? null : new ArrayList<>(clusters));
    UserView view = UserView.of(load(id));
    audit.append(actor, "user.create", "user", id.toString(), null, null, view);
    return view;
  }

  @Transactional
  public UserView get(Actor actor, UUID id) {
    if (!actor.isAdmin() && !actor.userId().equals(id)) {
      throw ApiException.notFound("user", id);
    }
    return UserView.of(load(id));
  }

  @Transactional
  public Page<UserView> list(Actor actor, PageRequest page) {
    actor.requireAdmin();
    List<UserView> rows =
        db.list(
            "select "
                + UserAccount.COLUMNS
                + " from users where username > ? order by username limit ?",
            rs -> UserView.of(UserAccount.map(rs)),
            page.after(),
            page.fetch());
    return Page.of(rows, page, UserView::username);
  }

  /** Admins change role, clusters, disabled and passwords; users only their own password. */
  @Transactional
  public UserView update(
      Actor actor,
      UUID id,
      Long expectedVersion,
      @Nullable Role role,
      @Nullable Set<UUID> clusters,
      boolean clearClusters,
      @Nullable Boolean disabled,
      @Nullable char[] password) {
    boolean self = actor.userId().equals(id);
    if (!actor.isAdmin()
        && (!self || role != null || clusters != null || clearClusters || disabled != null)) {
      throw ApiException.forbidden(
          "only admins change roles, clusters or accounts; you may change your own password");
    }
    UserAccount before =
        db.one(
                "select " + UserAccount.COLUMNS + " from users where id = ? for update",
                UserAccount::map,
                id)
            .orElseThrow(() -> ApiException.notFound("user", id));
    ETags.requireMatch(expectedVersion, before.version(), "user " + before.username());
    boolean demotes = (role != null && role != Role.ADMIN) || Boolean.TRUE.equals(disabled);
    if (before.role() == Role.ADMIN && demotes) {
      requireAnotherAdmin(id);
    }
    requireClustersExist(clusters);
    db.update(
        "update users set role = coalesce(?, role),"
            + " allowed_clusters = case when ? then null when ?::uuid[] is not null then ?::uuid[] else allowed_clusters end,"
            + " disabled = coalesce(?, disabled), password_hash = coalesce(?, password_hash),"
            + " version = version + 1, updated_at = now() where id = ?",
        role == null ? null : role.name(),
        clearClusters,
        clusters == null ? null : new ArrayList<>(clusters),
        clusters == null ? null : new ArrayList<>(clusters),
        disabled,
        password == null ? null : hasher.hash(password),
        id);
    if (Boolean.TRUE.equals(disabled) || password != null) {
      db.update(
          "update refresh_tokens set revoked_at = now() where user_id = ? and revoked_at is null",
          id);
    }
    UserView after = UserView.of(load(id));
    audit.append(
        actor,
        password != null ? "user.update-password" : "user.update",
        "user",
        id.toString(),
        null,
        UserView.of(before),
        after);
    return after;
  }

  @Transactional
  public void delete(Actor actor, UUID id) {
    actor.requireAdmin();
    if (actor.userId().equals(id)) {
      throw ApiException.conflict("you cannot delete yourself");
    }
    UserAccount before = load(id);
    if (before.role() == Role.ADMIN) {
      requireAnotherAdmin(id);
    }
    db.update("delete from users where id = ?", id);
    audit.append(actor, "user.delete", "user", id.toString(), null, UserView.of(before), null);
  }

  private UserAccount load(UUID id) {
    return db.one(
            "select " + UserAccount.COLUMNS + " from users where id = ?", UserAccount::map, id)
        .orElseThrow(() -> ApiException.notFound("user", id));
  }

  private void requireAnotherAdmin(UUID except) {
    long admins =
        db.one(
                "select count(*) from users where role = 'ADMIN' and not disabled and id <> ?",
                rs -> rs.getLong(1),
                except)
            .orElse(0L);
    if (admins == 0) {
      throw ApiException.conflict("this is the last active admin; make another admin first");
    }
  }

  private void requireClustersExist(@Nullable Set<UUID> clusters) {
    if (clusters == null || clusters.isEmpty()) {
      return;
    }
    long found =
        db.one(
                "select count(*) from clusters where id = any(?)",
                rs -> rs.getLong(1),
                new ArrayList<>(clusters))
            .orElse(0L);
    if (found != clusters.size()) {
      throw ApiException.invalid("allowedClusters", "names a cluster that does not exist");
    }
  }
}

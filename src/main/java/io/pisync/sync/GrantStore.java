package io.pisync.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.server.Transactions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;

/**
 * Grants and revocations of scopes. Each change takes a feed position (last, like a push), so pulls
 * know which records a device has not been sent yet and when to tell it to drop a scope.
 */
final class GrantStore {
  /** First key of the advisory locks that order grants of one scope to one device. */
  private static final int GRANT_LOCK_CLASS = 0x50695367;

  private final DataSource dataSource;
  private final ObjectMapper mapper;

  /** A scope a device may use. */
  record Grant(String deviceId, String scope, Instant grantedAt) {}

  /** The grant, whether this call created it, and the feed head it took (0: none). */
  record Granted(Grant grant, boolean created, long head) {}

  GrantStore(DataSource dataSource, ObjectMapper mapper) {
    this.dataSource = dataSource;
    this.mapper = mapper;
  }

  /** Grants a scope to a registered device; empty when no device has this id. */
  Optional<Granted> grant(String device, String scope, Instant at) throws SQLException {
    return Transactions.run(
        dataSource,
        c -> {
          if (!registered(c, device)) return Optional.empty();
          return Optional.of(grant(c, device, scope, at));
        });
  }

  private Granted grant(Connection c, String device, String scope, Instant at) throws SQLException {
    // A grant not yet made has no row to lock, so two identical grants at once would both create
    // it (two 201s, two feed positions): they queue on a lock of their own instead.
    try (PreparedStatement ps =
        c.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(? || '/' || ?))")) {
      ps.setInt(1, GRANT_LOCK_CLASS);
      ps.setString(2, device);
      ps.setString(3, scope);
      ps.execute();
    }
    Optional<Grant> existing = lockGrant(c, device, scope);
    if (existing.isPresent()) return new Granted(existing.get(), false, 0);
    long head = PushStore.takePositions(c, 1);
    String sql =
        """
        INSERT INTO sync_grants (device_id, scope, granted_seq, granted_at)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (device_id, scope) DO UPDATE
          SET granted_seq = excluded.granted_seq, granted_at = excluded.granted_at
        """;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, device);
      ps.setString(2, scope);
      ps.setLong(3, head);
      ps.setObject(4, at.atOffset(ZoneOffset.UTC));
      ps.executeUpdate();
    }
    notifyChange(c, head, device, scope);
    return new Granted(new Grant(device, scope, at), true, head);
  }

  /** Whether a device with this id is registered (the security feature keeps the registry). */
  boolean registered(String device) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return registered(c, device);
    }
  }

  private static boolean registered(Connection c, String device) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT 1 FROM registered_devices WHERE device_id = ?")) {
      ps.setString(1, device);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** Revokes a grant in force; empty when there was none. Returns the feed head it took. */
  Optional<Long> revoke(String device, String scope, Instant at) throws SQLException {
    return Transactions.run(
        dataSource,
        c -> {
          if (lockGrant(c, device, scope).isEmpty()) return Optional.empty();
          long head = PushStore.takePositions(c, 1);
          String sql =
              """
              UPDATE sync_grants SET granted_seq = NULL, granted_at = NULL,
                revoked_seq = ?, revoked_at = ?
              WHERE device_id = ? AND scope = ?
              """;
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, head);
            ps.setObject(2, at.atOffset(ZoneOffset.UTC));
            ps.setString(3, device);
            ps.setString(4, scope);
            ps.executeUpdate();
          }
          notifyChange(c, head, device, scope);
          return Optional.of(head);
        });
  }

  private void notifyChange(Connection c, long head, String device, String scope)
      throws SQLException {
    Notices.notify(c, mapper, new Notices.Notice(head, null, Set.of(scope), List.of(device)));
  }

  private static Optional<Grant> lockGrant(Connection c, String device, String scope)
      throws SQLException {
    String sql =
        "SELECT granted_at FROM sync_grants WHERE device_id = ? AND scope = ?"
            + " AND granted_seq IS NOT NULL FOR UPDATE";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, device);
      ps.setString(2, scope);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new Grant(device, scope, PushStore.instant(rs, 1)))
            : Optional.empty();
      }
    }
  }

  /**
   * The scope names each of these devices may use now (unmodifiable); a device without grants is
   * absent.
   */
  Map<String, Set<String>> scopeNames(Collection<String> devices) throws SQLException {
    String sql =
        "SELECT device_id, scope FROM sync_grants WHERE device_id = ANY(?::text[])"
            + " AND granted_seq IS NOT NULL";
    Map<String, Set<String>> names = new HashMap<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", devices.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          names.computeIfAbsent(rs.getString(1), d -> new HashSet<>()).add(rs.getString(2));
        }
      }
    }
    names.replaceAll((device, scopes) -> Set.copyOf(scopes));
    return names;
  }

  /** The scopes a device may use now, by name. */
  List<Grant> scopes(String device) throws SQLException {
    String sql =
        "SELECT scope, granted_at FROM sync_grants WHERE device_id = ?"
            + " AND granted_seq IS NOT NULL ORDER BY scope";
    List<Grant> grants = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, device);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          grants.add(new Grant(device, rs.getString(1), PushStore.instant(rs, 2)));
        }
      }
    }
    return grants;
  }
}

package io.pisync.sync;

import io.pisync.http.ApiProblem;
import io.pisync.http.ProblemType;
import io.pisync.server.Transactions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/** The collections and their policies: four built in, more declared by an admin. */
final class CollectionStore {
  private final DataSource dataSource;

  /** A collection; {@code builtin} ones cannot change policy. */
  record Collection(String name, String policy, boolean builtin, Instant declaredAt) {}

  /** The collection after a declaration, and whether it was created or changed. */
  record Declared(Collection collection, boolean created) {}

  CollectionStore(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  List<Collection> list() throws SQLException {
    String sql = "SELECT name, policy, builtin, declared_at FROM sync_collections ORDER BY name";
    List<Collection> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) out.add(read(rs));
    }
    return out;
  }

  private static Collection read(ResultSet rs) throws SQLException {
    return new Collection(
        rs.getString(1), rs.getString(2), rs.getBoolean(3), PushStore.instant(rs, 4));
  }

  /**
   * Declares a collection with a policy. The same policy again changes nothing; another policy is
   * refused for a built-in collection or one that holds records (their history was settled under
   * the first policy).
   */
  Declared declare(String name, Policy policy, Instant at) throws SQLException {
    return Transactions.run(
        dataSource,
        c -> {
          var existing = lock(c, name);
          if (existing.isPresent()) return redeclare(c, existing.get(), policy);
          if (insert(c, name, policy, at)) {
            return new Declared(new Collection(name, policy.wire(), false, at), true);
          }
          // declared at the same moment by another request
          return redeclare(c, lock(c, name).orElseThrow(), policy);
        });
  }

  private static java.util.Optional<Collection> lock(Connection c, String name)
      throws SQLException {
    String sql =
        "SELECT name, policy, builtin, declared_at FROM sync_collections WHERE name = ? FOR UPDATE";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? java.util.Optional.of(read(rs)) : java.util.Optional.empty();
      }
    }
  }

  private static Declared redeclare(Connection c, Collection existing, Policy policy)
      throws SQLException {
    if (existing.policy().equals(policy.wire())) return new Declared(existing, false);
    if (existing.builtin()) {
      throw conflict(existing, "it is built in");
    }
    try (PreparedStatement ps =
        c.prepareStatement("SELECT 1 FROM sync_records WHERE collection = ? LIMIT 1")) {
      ps.setString(1, existing.name());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) throw conflict(existing, "it holds records");
      }
    }
    try (PreparedStatement ps =
        c.prepareStatement("UPDATE sync_collections SET policy = ? WHERE name = ?")) {
      ps.setString(1, policy.wire());
      ps.setString(2, existing.name());
      ps.executeUpdate();
    }
    var changed = new Collection(existing.name(), policy.wire(), false, existing.declaredAt());
    return new Declared(changed, false);
  }

  private static ApiProblem conflict(Collection existing, String why) {
    return new ApiProblem(
        ProblemType.COLLECTION_POLICY_CONFLICT,
        "collection '"
            + existing.name()
            + "' has policy "
            + existing.policy()
            + " and keeps it: "
            + why);
  }

  private static boolean insert(Connection c, String name, Policy policy, Instant at)
      throws SQLException {
    String sql =
        "INSERT INTO sync_collections (name, policy, builtin, declared_at) VALUES (?, ?, false, ?)"
            + " ON CONFLICT (name) DO NOTHING";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, name);
      ps.setString(2, policy.wire());
      ps.setObject(3, at.atOffset(ZoneOffset.UTC));
      return ps.executeUpdate() == 1;
    }
  }
}

package io.pisync.sync;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonRawValue;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Reading records and their conflict history, for operators (and devices, in their scopes). */
final class RecordBrowser {
  private final DataSource dataSource;

  /** Which records to list. */
  record Filter(Optional<String> scope, Optional<String> collection, boolean includeDeleted) {}

  /** A version that lost, as stored. {@code version} is null when it was never the record. */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record LoserView(
      Long version,
      String device,
      String mutationId,
      boolean deleted,
      @JsonRawValue String data,
      Instant modifiedAt) {}

  /** One entry of a record's conflict history. */
  record ConflictView(
      long id,
      Instant occurredAt,
      String reason,
      long winnerVersion,
      String winnerDevice,
      LoserView loser) {}

  RecordBrowser(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  private static final String COLUMNS =
      "scope, collection, record_id, version, deleted, data::text, modified_at, updated_at,"
          + " updated_by, mutation_id, exact, seq";

  /** Records in key order (scope, collection, record id), after {@code after}. */
  List<StoredRecord> list(Filter filter, int limit, Optional<RecordKey> after) throws SQLException {
    var sql = new StringBuilder("SELECT " + COLUMNS + " FROM sync_records WHERE true");
    List<Object> args = new ArrayList<>();
    filter.scope().ifPresent(s -> add(sql, args, " AND scope = ?", s));
    filter.collection().ifPresent(s -> add(sql, args, " AND collection = ?", s));
    if (!filter.includeDeleted()) sql.append(" AND NOT deleted");
    after.ifPresent(k -> {
      sql.append(" AND (scope, collection, record_id) > (?, ?, ?)");
      args.addAll(List.of(k.scope(), k.collection(), k.recordId()));
    });
    sql.append(" ORDER BY scope, collection, record_id LIMIT ?");
    args.add(limit);
    List<StoredRecord> rows = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql.toString())) {
      for (int i = 0; i < args.size(); i++) ps.setObject(i + 1, args.get(i));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) rows.add(PushStore.readRecord(rs, 1));
      }
    }
    return rows;
  }

  private static void add(StringBuilder sql, List<Object> args, String clause, Object value) {
    sql.append(clause);
    args.add(value);
  }

  Optional<StoredRecord> find(RecordKey key) throws SQLException {
    String sql =
        "SELECT "
            + COLUMNS
            + " FROM sync_records"
            + " WHERE scope = ? AND collection = ? AND record_id = ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, key.scope());
      ps.setString(2, key.collection());
      ps.setString(3, key.recordId());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(PushStore.readRecord(rs, 1)) : Optional.empty();
      }
    }
  }

  private static final String CONFLICTS =
      """
      SELECT id, occurred_at, reason, winner_version, winner_device, loser_version,
             loser_device, loser_mutation_id, loser_deleted, loser_data::text, loser_modified_at
      FROM sync_conflicts
      WHERE scope = ? AND collection = ? AND record_id = ? AND id > ?
      ORDER BY id
      LIMIT ?
      """;

  /** The record's conflict history, oldest first, after the entry {@code afterId}. */
  List<ConflictView> conflicts(RecordKey key, int limit, long afterId) throws SQLException {
    List<ConflictView> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(CONFLICTS)) {
      ps.setString(1, key.scope());
      ps.setString(2, key.collection());
      ps.setString(3, key.recordId());
      ps.setLong(4, afterId);
      ps.setInt(5, limit);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) out.add(conflict(rs));
      }
    }
    return out;
  }

  private static ConflictView conflict(ResultSet rs) throws SQLException {
    var loser =
        new LoserView(
            rs.getObject(6, Long.class),
            rs.getString(7),
            rs.getString(8),
            rs.getBoolean(9),
            rs.getString(10),
            PushStore.instant(rs, 11));
    return new ConflictView(
        rs.getLong(1),
        PushStore.instant(rs, 2),
        rs.getString(3),
        rs.getLong(4),
        rs.getString(5),
        loser);
  }

  /** How many entries the record's conflict history has. */
  long conflictCount(RecordKey key) throws SQLException {
    String sql =
        "SELECT count(*) FROM sync_conflicts WHERE scope = ? AND collection = ? AND record_id = ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, key.scope());
      ps.setString(2, key.collection());
      ps.setString(3, key.recordId());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}

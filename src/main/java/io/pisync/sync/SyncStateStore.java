package io.pisync.sync;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Each device's sync state, as operators see it: "when did it last sync, what went wrong?" */
final class SyncStateStore {
  private static final int RECENT_REJECTIONS = 10;

  private final DataSource dataSource;
  private final ObjectMapper mapper;

  record LastPull(Instant at, String cursor, long position, int changes, boolean complete) {}

  record LastPush(Instant at, int mutations) {}

  record Totals(
      long pulls,
      long failedPulls,
      long pushes,
      long applied,
      long duplicates,
      long conflicts,
      long rejected) {}

  /** The newest pull the server refused: when, its problem type and detail. */
  record PullError(Instant at, String type, String detail) {}

  @JsonInclude(JsonInclude.Include.ALWAYS)
  record Rejection(String mutationId, Instant receivedAt, String reason, String detail) {}

  /** The counters and times kept for a device. */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record State(
      LastPull lastPull,
      PullError lastPullError,
      LastPush lastPush,
      Totals totals,
      Instant lastConflictAt,
      Instant lastRejectionAt) {}

  static final State NEVER_SYNCED =
      new State(null, null, null, new Totals(0, 0, 0, 0, 0, 0, 0), null, null);

  SyncStateStore(DataSource dataSource, ObjectMapper mapper) {
    this.dataSource = dataSource;
    this.mapper = mapper;
  }

  private static final String STATE =
      """
      SELECT last_pull_at, last_pull_cursor, last_pull_position, last_pull_changes,
             last_pull_complete, last_push_at, last_push_mutations, pulls, pushes, applied,
             duplicates, conflicts, rejected, last_conflict_at, last_rejection_at,
             failed_pulls, last_pull_error_at, last_pull_error_type, last_pull_error
      FROM sync_device_state WHERE device_id = ?
      """;

  Optional<State> state(String device) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(STATE)) {
      ps.setString(1, device);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  private static State read(ResultSet rs) throws SQLException {
    Instant pulledAt = PushStore.instant(rs, 1);
    LastPull pull =
        pulledAt == null
            ? null
            : new LastPull(
                pulledAt, rs.getString(2), rs.getLong(3), rs.getInt(4), rs.getBoolean(5));
    Instant pushedAt = PushStore.instant(rs, 6);
    LastPush push = pushedAt == null ? null : new LastPush(pushedAt, rs.getInt(7));
    var totals =
        new Totals(
            rs.getLong(8),
            rs.getLong(16),
            rs.getLong(9),
            rs.getLong(10),
            rs.getLong(11),
            rs.getLong(12),
            rs.getLong(13));
    Instant failedAt = PushStore.instant(rs, 17);
    PullError error =
        failedAt == null ? null : new PullError(failedAt, rs.getString(18), rs.getString(19));
    return new State(
        pull, error, push, totals, PushStore.instant(rs, 14), PushStore.instant(rs, 15));
  }

  /** The device's newest rejected mutations, newest first. */
  List<Rejection> recentRejections(String device) throws SQLException {
    String sql =
        "SELECT mutation_id, received_at, result FROM sync_mutations"
            + " WHERE device_id = ? AND status = 'rejected'"
            + " ORDER BY received_at DESC, mutation_id LIMIT "
            + RECENT_REJECTIONS;
    List<Rejection> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, device);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          JsonNode result = parse(rs.getString(3));
          out.add(
              new Rejection(
                  rs.getString(1),
                  PushStore.instant(rs, 2),
                  result.path("reason").asText(null),
                  result.path("detail").asText(null)));
        }
      }
    }
    return out;
  }

  private JsonNode parse(String text) {
    try {
      return mapper.readTree(text);
    } catch (IOException e) {
      throw new IllegalStateException("stored result is not JSON", e);
    }
  }
}

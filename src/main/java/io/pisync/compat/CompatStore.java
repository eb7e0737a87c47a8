package io.pisync.compat;

import io.pisync.telemetry.EventStore;
import io.pisync.telemetry.StoredEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The SQL of the compatibility routes. The earlier APIs paged by page number, so these queries use
 * LIMIT/OFFSET; totals come from the device counters or a COUNT.
 */
final class CompatStore {
  private static final String DEVICE_COLUMNS =
      "d.device_id, d.last_sync_at, d.total_syncs, d.failed_count, d.consecutive_failures,"
          + " d.total_files, d.speed_sum";

  private static final String DEVICE =
      "SELECT %s FROM devices d WHERE d.device_id = ?".formatted(DEVICE_COLUMNS);

  private static final String HISTORY =
      """
      SELECT %s FROM sync_events WHERE device_id = ?
      ORDER BY occurred_at DESC, event_id DESC LIMIT ? OFFSET ?
      """
          .formatted(EventStore.COLUMNS);

  // "failed_count > 0" repeats what "> threshold" (threshold >= 0) implies, so that a generic
  // plan can still use the partial index devices_failed_idx.
  private static final String ALL_TIME_PROBLEMS =
      """
      SELECT %s, d.failed_count AS failures
      FROM devices d WHERE d.failed_count > 0 AND d.failed_count > ?
      """
          .formatted(DEVICE_COLUMNS);

  // "status <> 'success'" is implied by "status = 'failed'"; it is spelled out to match the
  // predicate of the partial indexes on unsuccessful sync events.
  private static final String WINDOW_PROBLEMS =
      """
      SELECT %s, f.failures
      FROM (SELECT device_id, count(*) AS failures FROM sync_events
            WHERE status <> 'success' AND status = 'failed' AND occurred_at > ?
            GROUP BY device_id) f
      JOIN devices d ON d.device_id = f.device_id
      WHERE f.failures > ?
      """
          .formatted(DEVICE_COLUMNS);

  private final DataSource dataSource;

  CompatStore(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** A device's lifetime counters; {@code lastSyncAt} is its newest sync by its own clock. */
  record Device(
      String deviceId,
      Instant lastSyncAt,
      long totalSyncs,
      long failedSyncs,
      int consecutiveFailures,
      long totalFiles,
      double speedSum) {}

  /**
   * Which devices have repeated failures: more than {@code threshold} failed syncs, counting only
   * those after {@code since} when present.
   */
  record FailureQuery(int threshold, Optional<Instant> since) {
    String problemsSql() {
      return since.isPresent() ? WINDOW_PROBLEMS : ALL_TIME_PROBLEMS;
    }

    int bind(PreparedStatement ps) throws SQLException {
      int i = 1;
      if (since.isPresent()) {
        ps.setObject(i++, utc(since.get()));
      }
      ps.setInt(i++, threshold);
      return i;
    }
  }

  /** A device with repeated failures; {@code failures} is the count the query matched on. */
  record FailingDevice(Device device, long failures) {}

  /** Over all devices that match, not one page. */
  record FailureSummary(long devices, double avgConsecutiveFailures, int maxConsecutiveFailures) {}

  Optional<Device> device(String deviceId) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(DEVICE)) {
      ps.setString(1, deviceId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(device(rs)) : Optional.empty();
      }
    }
  }

  /** Newest first by the device's clock; ties broken by event id. */
  List<StoredEvent> history(String deviceId, PageRequest page) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(HISTORY)) {
      ps.setString(1, deviceId);
      ps.setInt(2, page.limit());
      ps.setLong(3, page.offset());
      List<StoredEvent> events = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          events.add(EventStore.read(rs));
        }
      }
      return events;
    }
  }

  /** Most failures first, then by device id. */
  List<FailingDevice> failingDevices(FailureQuery query, PageRequest page) throws SQLException {
    String sql =
        "SELECT * FROM ("
            + query.problemsSql()
            + ") p ORDER BY p.failures DESC, p.device_id LIMIT ? OFFSET ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      int i = query.bind(ps);
      ps.setInt(i++, page.limit());
      ps.setLong(i, page.offset());
      List<FailingDevice> devices = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          devices.add(new FailingDevice(device(rs), rs.getLong("failures")));
        }
      }
      return devices;
    }
  }

  FailureSummary failureSummary(FailureQuery query) throws SQLException {
    String sql =
        "SELECT count(*), coalesce(round(avg(p.consecutive_failures), 2), 0),"
            + " coalesce(max(p.consecutive_failures), 0) FROM ("
            + query.problemsSql()
            + ") p";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      query.bind(ps);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new FailureSummary(rs.getLong(1), rs.getDouble(2), rs.getInt(3));
      }
    }
  }

  private static Device device(ResultSet rs) throws SQLException {
    return new Device(
        rs.getString("device_id"),
        instant(rs, rs.findColumn("last_sync_at")),
        rs.getLong("total_syncs"),
        rs.getLong("failed_count"),
        rs.getInt("consecutive_failures"),
        rs.getLong("total_files"),
        rs.getDouble("speed_sum"));
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private static OffsetDateTime utc(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }
}

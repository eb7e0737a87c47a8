package io.pisync.device;

import io.pisync.http.ApiProblem;
import io.pisync.http.ProblemType;
import io.pisync.server.Transactions;
import io.pisync.telemetry.EventStore;
import io.pisync.telemetry.StoredEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.InstantSource;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/** The SQL that reads devices: one device, lists, repeated failures and fleet statistics. */
public final class DeviceStore {
  private static final String SUMMARY_COLUMNS =
      "d.device_id, "
          + Health.SQL
          + " AS health, d.first_seen_at, d.last_seen_at, d.last_sync_at, d.last_status,"
          + " d.total_syncs, d.success_count, d.partial_count, d.failed_count, d.total_files,"
          + " d.total_errors, d.consecutive_failures, d.last_failure_at, d.speed_sum,"
          + " d.consecutive_unsuccessful, d.last_unsuccessful_at";

  private final DataSource dataSource;
  private final InstantSource clock;

  public DeviceStore(DataSource dataSource, InstantSource clock) {
    this.dataSource = dataSource;
    this.clock = clock;
  }

  /** Empty when the device has reported; otherwise the 404 to answer (see {@link #notFound}). */
  public Optional<ApiProblem> missing(String deviceId) throws SQLException {
    return found("SELECT 1 FROM devices WHERE device_id = ?", deviceId)
        ? Optional.empty()
        : Optional.of(notFound(deviceId));
  }

  /**
   * A device is listed here from its first report. One registered by an admin that has not reported
   * yet is not "no device" to the person who just registered it: the answer says so.
   */
  public ApiProblem notFound(String deviceId) throws SQLException {
    boolean registered = found("SELECT 1 FROM registered_devices WHERE device_id = ?", deviceId);
    return new ApiProblem(
        ProblemType.DEVICE_NOT_FOUND,
        registered
            ? "device '"
                + deviceId
                + "' is registered but has not reported a sync yet (its registration: /api/v1/devices/"
                + deviceId
                + "/registration)"
            : "no device '" + deviceId + "'");
  }

  private boolean found(String sql, String deviceId) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, deviceId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  public Optional<DeviceSummary> find(String deviceId) throws SQLException {
    String sql = "SELECT " + SUMMARY_COLUMNS + " FROM devices d WHERE d.device_id = ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, inactiveBefore());
      ps.setString(2, deviceId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(summary(rs)) : Optional.empty();
      }
    }
  }

  /** Filters of the device list; empty means any. */
  public record ListFilter(
      Optional<String> status, Optional<String> health, Optional<String> query) {}

  /** Devices in device-id order after {@code afterId}, at most {@code limit}. */
  public List<DeviceSummary> list(ListFilter filter, int limit, Optional<String> afterId)
      throws SQLException {
    String sql =
        "SELECT * FROM (SELECT "
            + SUMMARY_COLUMNS
            + " FROM devices d) d WHERE true"
            + (filter.status().isPresent() ? " AND d.last_status = ?" : "")
            + (filter.health().isPresent() ? " AND d.health = ?" : "")
            + (filter.query().isPresent() ? " AND d.device_id ILIKE ? ESCAPE '\\'" : "")
            + (afterId.isPresent() ? " AND d.device_id > ?" : "")
            + " ORDER BY d.device_id LIMIT ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      ps.setString(i++, inactiveBefore());
      if (filter.status().isPresent()) ps.setString(i++, filter.status().get());
      if (filter.health().isPresent()) ps.setString(i++, filter.health().get());
      if (filter.query().isPresent())
        ps.setString(i++, "%" + likeEscape(filter.query().get()) + "%");
      if (afterId.isPresent()) ps.setString(i++, afterId.get());
      ps.setInt(i, limit);
      List<DeviceSummary> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(summary(rs));
        }
      }
      return out;
    }
  }

  private static String likeEscape(String text) {
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }

  /** What counts as a failure, and over which span. */
  public record FailureCriteria(
      int threshold, Optional<Instant> since, boolean consecutive, boolean includePartial) {

    String countExpression() {
      if (consecutive) {
        return includePartial ? "d.consecutive_unsuccessful" : "d.consecutive_failures";
      }
      return includePartial ? "(d.failed_count + d.partial_count)" : "d.failed_count";
    }

    String statusCondition(String alias) {
      return includePartial ? alias + ".status <> 'success'" : alias + ".status = 'failed'";
    }
  }

  /** The sort key of a repeated-failures page. */
  public record FailureKey(long failures, String deviceId) {}

  /** A device with repeated failures, and its newest failed events. */
  public record FailingDevice(DeviceSummary device, long failures, List<StoredEvent> recent) {}

  public List<FailingDevice> repeatedFailures(
      FailureCriteria criteria, int limit, Optional<FailureKey> after) throws SQLException {
    // One transaction: the newest failures are read with SET LOCAL (see mergeNewestFirst).
    return Transactions.run(
        dataSource,
        c -> {
          Map<String, Long> counts = new HashMap<>();
          List<DeviceSummary> devices = new ArrayList<>();
          try (PreparedStatement ps = c.prepareStatement(failureSql(criteria, after))) {
            int i = 1;
            ps.setString(i++, inactiveBefore());
            if (criteria.since().isPresent()) {
              ps.setTimestamp(i++, Timestamp.from(criteria.since().get()));
            }
            ps.setLong(i++, criteria.threshold());
            if (after.isPresent()) {
              ps.setLong(i++, after.get().failures());
              ps.setLong(i++, after.get().failures());
              ps.setString(i++, after.get().deviceId());
            }
            ps.setInt(i, limit);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                DeviceSummary summary = summary(rs);
                devices.add(summary);
                counts.put(summary.deviceId(), rs.getLong("failures"));
              }
            }
          }
          Map<String, List<StoredEvent>> recent =
              newestFailures(c, devices.stream().map(DeviceSummary::deviceId).toList(), criteria);
          return devices.stream()
              .map(d ->
                  new FailingDevice(
                      d, counts.get(d.deviceId()), recent.getOrDefault(d.deviceId(), List.of())))
              .toList();
        });
  }

  private static String failureSql(FailureCriteria criteria, Optional<FailureKey> after) {
    return criteria.since().isPresent()
        ? failuresSinceSql(criteria, after)
        : "SELECT "
            + SUMMARY_COLUMNS
            + ", "
            + criteria.countExpression()
            + " AS failures FROM devices d"
            // "> 0" again for generic plans: it matches the partial indexes' predicates.
            + pageOf(
                criteria.countExpression(),
                "d.device_id",
                "WHERE " + criteria.countExpression() + " > 0 AND",
                after);
  }

  /**
   * Counts failures since a time per device, and takes the page from those counts before joining
   * the devices: joining first would read the whole devices table.
   */
  private static String failuresSinceSql(FailureCriteria criteria, Optional<FailureKey> after) {
    return "SELECT "
        + SUMMARY_COLUMNS
        + ", f.n AS failures FROM (SELECT e.device_id, count(*) AS n FROM sync_events e WHERE "
        + criteria.statusCondition("e")
        + " AND e.occurred_at > ? GROUP BY e.device_id"
        + pageOf("count(*)", "e.device_id", "HAVING", after)
        + ") f JOIN devices d ON d.device_id = f.device_id ORDER BY f.n DESC, d.device_id";
  }

  /** Count above the threshold, after the cursor, in (count desc, device id) order, limited. */
  private static String pageOf(
      String count, String deviceId, String keyword, Optional<FailureKey> after) {
    return " "
        + keyword
        + " "
        + count
        + " > ?"
        + (after.isPresent()
            ? " AND (" + count + " < ? OR (" + count + " = ? AND " + deviceId + " > ?))"
            : "")
        + " ORDER BY "
        + count
        + " DESC, "
        + deviceId
        + " LIMIT ?";
  }

  /**
   * The 5 newest failures of each device (failed, and partial too with {@code include_partial}),
   * after {@code since} when given; newest first.
   */
  public Map<String, List<StoredEvent>> newestFailures(
      List<String> deviceIds, FailureCriteria criteria) throws SQLException {
    return Transactions.run(dataSource, c -> newestFailures(c, deviceIds, criteria));
  }

  /** On an open transaction (the planner setting is local to it). */
  private Map<String, List<StoredEvent>> newestFailures(
      Connection c, List<String> deviceIds, FailureCriteria criteria) throws SQLException {
    Map<String, List<StoredEvent>> recent = new HashMap<>();
    if (deviceIds.isEmpty()) {
      return recent;
    }
    String sql =
        "SELECT r.* FROM unnest(?::text[]) AS d(device_id) CROSS JOIN LATERAL (SELECT "
            + EventStore.COLUMNS
            + " FROM sync_events e WHERE e.device_id = d.device_id AND e.status <> 'success' AND "
            + criteria.statusCondition("e")
            + (criteria.since().isPresent() ? " AND e.occurred_at > ?" : "")
            + " ORDER BY e.occurred_at DESC LIMIT 5) r";
    mergeNewestFirst(c);
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", deviceIds.toArray()));
      if (criteria.since().isPresent()) {
        ps.setTimestamp(2, Timestamp.from(criteria.since().get()));
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          StoredEvent e = EventStore.read(rs);
          recent.computeIfAbsent(e.deviceId(), k -> new ArrayList<>()).add(e);
        }
      }
    }
    return recent;
  }

  /**
   * The planner expects about one failure per device and so reads and sorts all of a device's
   * failures across the partitions; a device that fails a lot has hundreds. Without sorting it
   * merges the partitions' indexes, newest first, and stops at the fifth row (measured at 1M
   * events: docs/PERFORMANCE.md).
   */
  private static void mergeNewestFirst(Connection c) throws SQLException {
    try (var st = c.createStatement()) {
      st.execute("SET LOCAL enable_sort = off");
    }
  }

  /** Fleet summary: devices per health state, and syncs over the last 24 hours. */
  public record FleetStats(
      Instant generatedAt,
      Map<String, Long> devicesByHealth,
      long devices,
      @com.fasterxml.jackson.annotation.JsonProperty("last_24h") Window last24h) {}

  public record Window(
      Instant from,
      long syncs,
      long success,
      long partial,
      long failed,
      long devicesReporting,
      Double failureRate) {}

  public FleetStats stats() throws SQLException {
    Instant now = clock.instant();
    Instant from = now.minusSeconds(24 * 3600);
    Map<String, Long> byHealth = new java.util.LinkedHashMap<>();
    for (Health h : Health.values()) {
      byHealth.put(h.wire(), 0L);
    }
    long total = 0;
    try (Connection c = dataSource.getConnection()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT " + Health.SQL + " AS health, count(*) FROM devices d GROUP BY 1")) {
        ps.setString(1, inactiveBefore());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            byHealth.put(rs.getString(1), rs.getLong(2));
            total += rs.getLong(2);
          }
        }
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              """
              SELECT count(*), count(*) FILTER (WHERE status = 'success'),
                     count(*) FILTER (WHERE status = 'partial'),
                     count(*) FILTER (WHERE status = 'failed'), count(DISTINCT device_id)
              FROM sync_events WHERE occurred_at > ? AND occurred_at <= ?
              """)) {
        ps.setTimestamp(1, Timestamp.from(from));
        ps.setTimestamp(2, Timestamp.from(now));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          long syncs = rs.getLong(1);
          long failed = rs.getLong(4);
          var window =
              new Window(
                  from,
                  syncs,
                  rs.getLong(2),
                  rs.getLong(3),
                  failed,
                  rs.getLong(5),
                  syncs == 0 ? null : (double) failed / syncs);
          return new FleetStats(now, byHealth, total, window);
        }
      }
    }
  }

  private String inactiveBefore() {
    return clock.instant().minus(Health.INACTIVE_AFTER).toString();
  }

  private static DeviceSummary summary(ResultSet rs) throws SQLException {
    long syncs = rs.getLong("total_syncs");
    long success = rs.getLong("success_count");
    long failed = rs.getLong("failed_count");
    var totals =
        new DeviceSummary.Totals(
            syncs,
            success,
            rs.getLong("partial_count"),
            failed,
            rs.getLong("total_files"),
            rs.getLong("total_errors"));
    return new DeviceSummary(
        rs.getString("device_id"),
        rs.getString("health"),
        instant(rs, "first_seen_at"),
        instant(rs, "last_seen_at"),
        instant(rs, "last_sync_at"),
        rs.getString("last_status"),
        totals,
        rs.getInt("consecutive_failures"),
        instant(rs, "last_failure_at"),
        ratio(success, syncs),
        ratio(failed, syncs),
        ratio(rs.getLong("total_files"), syncs),
        syncs == 0 ? null : round(rs.getDouble("speed_sum") / syncs));
  }

  private static Double ratio(long part, long whole) {
    return whole == 0 ? null : round((double) part / whole);
  }

  private static double round(double value) {
    return Math.round(value * 10_000) / 10_000.0;
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}

package io.pisync.telemetry;

import io.pisync.server.Transactions;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The SQL of sync events. {@link #ingest} stores a batch in one transaction: claim the
 * device-chosen event ids, write the events not seen before (COPY for large batches), lock the
 * devices (creating unknown ones), and update their counters from the rows actually inserted.
 */
public final class EventStore {
  public static final String COLUMNS =
      "event_id, device_id, occurred_at, received_at, status, total_files_synced, total_errors,"
          + " internet_speed, duration_ms, bytes_synced, error_message, app_version";

  /** Devices reporting for the first time; existing rows are left alone (no new row version). */
  private static final String CREATE_DEVICES =
      """
      INSERT INTO devices (device_id, first_seen_at, last_seen_at)
      SELECT d, ?::timestamptz, ?::timestamptz FROM unnest(?::text[]) AS d ORDER BY d
      ON CONFLICT (device_id) DO NOTHING
      RETURNING device_id
      """;

  /** Locks the batch's devices in id order (so batches wait for each other, not deadlock). */
  private static final String LOCK_DEVICES =
      """
      SELECT device_id, last_ok_at, last_failure_at, last_success_at, last_unsuccessful_at
      FROM devices WHERE device_id = ANY(?::text[])
      ORDER BY device_id
      FOR UPDATE
      """;

  private static final String TOUCH_DEVICES =
      """
      UPDATE devices SET last_seen_at = greatest(last_seen_at, ?::timestamptz)
      WHERE device_id = ANY(?::text[])
      """;

  /** Device-chosen event ids not seen before; a replay's id is already there and is skipped. */
  private static final String CLAIM_EVENT_IDS =
      """
      INSERT INTO sync_event_ids (event_id, device_id, occurred_at, received_at)
      SELECT * FROM unnest(?::uuid[], ?::text[], ?::timestamptz[], ?::timestamptz[])
      ON CONFLICT (event_id) DO NOTHING
      RETURNING event_id
      """;

  private static final String LOAD_ORIGINALS =
      """
      SELECT e.event_id, e.device_id, e.occurred_at, e.received_at, e.status,
             e.total_files_synced, e.total_errors, e.internet_speed, e.duration_ms,
             e.bytes_synced, e.error_message, e.app_version
      FROM sync_event_ids k
      JOIN sync_events e ON e.device_id = k.device_id AND e.occurred_at = k.occurred_at
                        AND e.received_at = k.received_at AND e.event_id = k.event_id
      WHERE k.event_id = ANY(?::uuid[])
      """;

  private static final String UPDATE_DEVICES =
      """
      UPDATE devices d SET
        last_seen_at = greatest(d.last_seen_at, ?::timestamptz),
        total_syncs = d.total_syncs + u.n,
        success_count = d.success_count + u.success,
        partial_count = d.partial_count + u.partial,
        failed_count = d.failed_count + u.failed,
        total_files = d.total_files + u.files,
        total_errors = d.total_errors + u.errors,
        speed_sum = d.speed_sum + u.speed_sum,
        last_status = CASE WHEN d.last_sync_at IS NULL OR u.max_ts >= d.last_sync_at
                           THEN u.latest_status ELSE d.last_status END,
        last_sync_at = greatest(d.last_sync_at, u.max_ts),
        last_ok_at = greatest(d.last_ok_at, u.new_last_ok),
        last_success_at = greatest(d.last_success_at, u.new_last_success),
        last_failure_at = greatest(d.last_failure_at, u.max_failed),
        last_unsuccessful_at = greatest(d.last_unsuccessful_at, u.max_unsuccessful),
        consecutive_failures = CASE
          WHEN u.recount_failures THEN (SELECT count(*) FROM sync_events e
               WHERE e.device_id = d.device_id AND e.status = 'failed'
                 AND e.occurred_at > u.new_last_ok)
          WHEN u.restart_failures IS NOT NULL THEN u.restart_failures
          ELSE d.consecutive_failures + u.add_failures END,
        consecutive_unsuccessful = CASE
          WHEN u.recount_unsuccessful THEN (SELECT count(*) FROM sync_events e
               WHERE e.device_id = d.device_id AND e.status <> 'success'
                 AND e.occurred_at > u.new_last_success)
          WHEN u.restart_unsuccessful IS NOT NULL THEN u.restart_unsuccessful
          ELSE d.consecutive_unsuccessful + u.add_unsuccessful END
      FROM unnest(?::text[], ?::int4[], ?::int4[], ?::int4[], ?::int4[], ?::int8[], ?::int8[],
                  ?::float8[], ?::timestamptz[], ?::text[], ?::timestamptz[], ?::timestamptz[],
                  ?::timestamptz[], ?::timestamptz[], ?::bool[], ?::int4[], ?::int4[],
                  ?::bool[], ?::int4[], ?::int4[])
        AS u(device_id, n, success, partial, failed, files, errors, speed_sum, max_ts,
             latest_status, new_last_ok, new_last_success, max_failed, max_unsuccessful,
             recount_failures, restart_failures, add_failures,
             recount_unsuccessful, restart_unsuccessful, add_unsuccessful)
      WHERE d.device_id = u.device_id
      """;

  private final DataSource dataSource;

  public EventStore(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Stores the events in one transaction and returns, in input order, whether each was created or
   * was a replay of an event_id already stored (in which case the original is returned).
   */
  public List<IngestOutcome> ingest(List<Incoming> batch) throws SQLException {
    Plan plan = Plan.of(batch);
    // A deadlock (two batches claiming the same event_ids in another order) is run again.
    return Transactions.run(dataSource, c -> ingest(c, plan));
  }

  private List<IngestOutcome> ingest(Connection c, Plan plan) throws SQLException {
    // Events first, devices last: device rows stay locked only for the counter update and the
    // COMMIT, not while the events are written, so batches sharing devices overlap more.
    Set<UUID> inserted = insertNew(c, plan);
    Map<String, DeviceDelta> deltas = lockDevices(c, plan);
    Map<UUID, StoredEvent> originals = new HashMap<>();
    List<UUID> replayed = new ArrayList<>();
    for (StoredEvent row : plan.rows) {
      if (inserted.contains(row.eventId())) {
        deltas.get(row.deviceId()).add(row);
      } else {
        replayed.add(row.eventId());
      }
    }
    if (!replayed.isEmpty()) {
      originals.putAll(loadOriginals(c, replayed));
    }
    updateDevices(c, deltas.values(), plan.lastReceived);
    touchDevicesWithOnlyReplays(c, deltas.values(), plan.lastReceived);
    dropDevicesWithoutEvents(c, deltas.values());
    return plan.outcomes(inserted, originals);
  }

  /**
   * Locks (and creates) the batch's devices in device-id order and returns the state their counters
   * will be computed from.
   */
  private Map<String, DeviceDelta> lockDevices(Connection c, Plan plan) throws SQLException {
    java.sql.Savepoint beforeLocks = c.setSavepoint();
    Map<String, DeviceDelta> deltas = lock(c, plan.deviceIds);
    if (deltas.size() == plan.deviceIds.size()) {
      return deltas;
    }
    // New devices. Creating one may wait for another batch creating it too; holding the known
    // devices' locks meanwhile would take locks out of id order and could deadlock. So let them
    // go, create the missing devices, and lock them all again in one pass, in id order.
    // (Checking first keeps the common case to a savepoint and one SELECT: an INSERT ... ON
    // CONFLICT that finds every row already there costs more than the SELECT.)
    c.rollback(beforeLocks);
    List<String> missing = plan.deviceIds.stream().filter(id -> !deltas.containsKey(id)).toList();
    Set<String> created = new HashSet<>();
    try (PreparedStatement ps = c.prepareStatement(CREATE_DEVICES)) {
      ps.setString(1, plan.firstReceived.toString());
      ps.setString(2, plan.lastReceived.toString());
      ps.setArray(3, c.createArrayOf("text", missing.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          created.add(rs.getString(1));
        }
      }
    }
    Map<String, DeviceDelta> all = lock(c, plan.deviceIds);
    all.values().forEach(d -> d.createdNow = created.contains(d.deviceId));
    return all;
  }

  private static Map<String, DeviceDelta> lock(Connection c, Collection<String> deviceIds)
      throws SQLException {
    Map<String, DeviceDelta> deltas = new HashMap<>();
    try (PreparedStatement ps = c.prepareStatement(LOCK_DEVICES)) {
      ps.setArray(1, c.createArrayOf("text", deviceIds.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          DeviceDelta delta = lockedDevice(rs);
          deltas.put(delta.deviceId, delta);
        }
      }
    }
    return deltas;
  }

  /** Claims the device-chosen ids, then copies in every event that is not a replay. */
  private Set<UUID> insertNew(Connection c, Plan plan) throws SQLException {
    Set<UUID> claimed = claimEventIds(c, plan);
    List<StoredEvent> fresh = new ArrayList<>(plan.rows.size());
    for (int i = 0; i < plan.rows.size(); i++) {
      StoredEvent row = plan.rows.get(i);
      if (!plan.clientKeyed.get(i) || claimed.contains(row.eventId())) {
        fresh.add(row);
      }
    }
    if (fresh.size() >= COPY_FROM_ROWS) {
      EventCopy.copy(c, fresh);
    } else {
      insertRows(c, fresh);
    }
    Set<UUID> inserted = new HashSet<>(fresh.size() * 2);
    fresh.forEach(e -> inserted.add(e.eventId()));
    return inserted;
  }

  /**
   * COPY is the cheaper way in for a batch upload's hundreds of rows; for a group commit's few
   * dozen, one INSERT from arrays costs PostgreSQL about a fifth less per row (measured with
   * pg_stat_statements, both ways alternating in one run).
   */
  private static final int COPY_FROM_ROWS = 200;

  private static final String INSERT_ROWS =
      "INSERT INTO sync_events ("
          + COLUMNS
          + ") SELECT * FROM unnest(?::uuid[], ?::text[], ?::timestamptz[], ?::timestamptz[],"
          + " ?::text[], ?::int4[], ?::int4[], ?::float8[], ?::int8[], ?::int8[], ?::text[],"
          + " ?::text[])";

  private static void insertRows(Connection c, List<StoredEvent> rows) throws SQLException {
    if (rows.isEmpty()) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(INSERT_ROWS)) {
      ps.setArray(1, column(c, "uuid", rows, StoredEvent::eventId));
      ps.setArray(2, column(c, "text", rows, StoredEvent::deviceId));
      ps.setArray(3, column(c, "text", rows, e -> EventCopy.timestampText(e.timestamp())));
      ps.setArray(4, column(c, "text", rows, e -> EventCopy.timestampText(e.receivedAt())));
      ps.setArray(5, column(c, "text", rows, e -> e.status().wire()));
      ps.setArray(6, column(c, "int4", rows, StoredEvent::totalFilesSynced));
      ps.setArray(7, column(c, "int4", rows, StoredEvent::totalErrors));
      ps.setArray(8, column(c, "float8", rows, StoredEvent::internetSpeed));
      ps.setArray(9, column(c, "int8", rows, StoredEvent::durationMs));
      ps.setArray(10, column(c, "int8", rows, StoredEvent::bytesSynced));
      ps.setArray(11, column(c, "text", rows, StoredEvent::errorMessage));
      ps.setArray(12, column(c, "text", rows, StoredEvent::appVersion));
      ps.executeUpdate();
    }
  }

  private static <T> Array column(
      Connection c, String type, List<T> rows, java.util.function.Function<T, Object> value)
      throws SQLException {
    Object[] values = new Object[rows.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = value.apply(rows.get(i));
    }
    return typedArray(c, type, values);
  }

  private Set<UUID> claimEventIds(Connection c, Plan plan) throws SQLException {
    List<StoredEvent> keyed = new ArrayList<>();
    for (int i = 0; i < plan.rows.size(); i++) {
      if (plan.clientKeyed.get(i)) {
        keyed.add(plan.rows.get(i));
      }
    }
    Set<UUID> claimed = new HashSet<>(keyed.size() * 2);
    if (keyed.isEmpty()) {
      return claimed;
    }
    // In id order, so two batches sharing ids wait for each other instead of deadlocking.
    keyed.sort(java.util.Comparator.comparing(StoredEvent::eventId));
    try (PreparedStatement ps = c.prepareStatement(CLAIM_EVENT_IDS)) {
      ps.setArray(1, column(c, "uuid", keyed, StoredEvent::eventId));
      ps.setArray(2, column(c, "text", keyed, StoredEvent::deviceId));
      ps.setArray(3, column(c, "text", keyed, e -> EventCopy.timestampText(e.timestamp())));
      ps.setArray(4, column(c, "text", keyed, e -> EventCopy.timestampText(e.receivedAt())));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          claimed.add(rs.getObject(1, UUID.class));
        }
      }
    }
    return claimed;
  }

  private static DeviceDelta lockedDevice(ResultSet rs) throws SQLException {
    return new DeviceDelta(
        rs.getString(1), instant(rs, 2), instant(rs, 3), instant(rs, 4), instant(rs, 5));
  }

  private Map<UUID, StoredEvent> loadOriginals(Connection c, List<UUID> ids) throws SQLException {
    Map<UUID, StoredEvent> found = new HashMap<>();
    try (PreparedStatement ps = c.prepareStatement(LOAD_ORIGINALS)) {
      ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          StoredEvent e = read(rs);
          found.put(e.eventId(), e);
        }
      }
    }
    return found;
  }

  /**
   * A device is created with its first event. When all of a new device's events turned out to be
   * replays of another device's event ids, the row made for it goes again.
   */
  private static void dropDevicesWithoutEvents(Connection c, Collection<DeviceDelta> all)
      throws SQLException {
    Object[] empty =
        all.stream().filter(d -> d.createdNow && d.count == 0).map(d -> d.deviceId).toArray();
    if (empty.length == 0) {
      return;
    }
    try (PreparedStatement ps =
        c.prepareStatement("DELETE FROM devices WHERE device_id = ANY(?::text[])")) {
      ps.setArray(1, c.createArrayOf("text", empty));
      ps.executeUpdate();
    }
  }

  /** A device that only resent events it had sent before was still seen. */
  private static void touchDevicesWithOnlyReplays(
      Connection c, Collection<DeviceDelta> all, Instant seen) throws SQLException {
    Object[] ids =
        all.stream().filter(d -> !d.createdNow && d.count == 0).map(d -> d.deviceId).toArray();
    if (ids.length == 0) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(TOUCH_DEVICES)) {
      ps.setString(1, seen.toString());
      ps.setArray(2, c.createArrayOf("text", ids));
      ps.executeUpdate();
    }
  }

  private void updateDevices(Connection c, Collection<DeviceDelta> all, Instant seen)
      throws SQLException {
    List<DeviceDelta> deltas = all.stream().filter(d -> d.count > 0).toList();
    if (deltas.isEmpty()) {
      return;
    }
    int n = deltas.size();
    String[] types = {
      "text", "int4", "int4", "int4", "int4", "int8", "int8", "float8", "text", "text", "text",
      "text", "text", "text", "bool", "int4", "int4", "bool", "int4", "int4"
    };
    Object[][] cols = new Object[types.length][n];
    for (int i = 0; i < n; i++) {
      DeviceDelta d = deltas.get(i);
      Object[] row = {
        d.deviceId,
        d.count,
        d.success,
        d.partial,
        d.failed,
        d.files,
        d.errors,
        d.speedSum,
        text(d.maxTimestamp),
        d.latestStatus.wire(),
        text(d.failures.newLastGood()),
        text(d.unsuccessful.newLastGood()),
        text(d.maxFailed),
        text(d.maxUnsuccessful),
        d.failures.recount(),
        d.failures.restartedValue(),
        d.failures.increment(),
        d.unsuccessful.recount(),
        d.unsuccessful.restartedValue(),
        d.unsuccessful.increment()
      };
      for (int col = 0; col < types.length; col++) {
        cols[col][i] = row[col];
      }
    }
    try (PreparedStatement ps = c.prepareStatement(UPDATE_DEVICES)) {
      ps.setString(1, seen.toString());
      for (int col = 0; col < types.length; col++) {
        ps.setArray(col + 2, typedArray(c, types[col], cols[col]));
      }
      ps.executeUpdate();
    }
  }

  private static Array typedArray(Connection c, String type, Object[] values) throws SQLException {
    Object[] typed =
        switch (type) {
          case "int4" -> java.util.Arrays.copyOf(values, values.length, Integer[].class);
          case "int8" -> java.util.Arrays.copyOf(values, values.length, Long[].class);
          case "float8" -> java.util.Arrays.copyOf(values, values.length, Double[].class);
          case "bool" -> java.util.Arrays.copyOf(values, values.length, Boolean[].class);
          case "uuid" -> java.util.Arrays.copyOf(values, values.length, UUID[].class);
          default -> java.util.Arrays.copyOf(values, values.length, String[].class);
        };
    return c.createArrayOf(type, typed);
  }

  /** Newest first, after the (timestamp, event_id) of the previous page's last item. */
  public List<StoredEvent> history(String deviceId, int limit, Optional<HistoryKey> after)
      throws SQLException {
    String sql =
        "SELECT "
            + COLUMNS
            + " FROM sync_events WHERE device_id = ?"
            + (after.isPresent() ? " AND (occurred_at, event_id) < (?, ?)" : "")
            + " ORDER BY occurred_at DESC, event_id DESC LIMIT ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      ps.setString(i++, deviceId);
      if (after.isPresent()) {
        ps.setTimestamp(i++, Timestamp.from(after.get().timestamp()));
        ps.setObject(i++, after.get().eventId());
      }
      ps.setInt(i, limit);
      return readAll(ps);
    }
  }

  /** The sort key of a history page. */
  public record HistoryKey(Instant timestamp, UUID eventId) {}

  static List<StoredEvent> readAll(PreparedStatement ps) throws SQLException {
    List<StoredEvent> events = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        events.add(read(rs));
      }
    }
    return events;
  }

  /** Maps a row selected with {@link #COLUMNS}, in that order. */
  public static StoredEvent read(ResultSet rs) throws SQLException {
    return new StoredEvent(
        rs.getObject(1, UUID.class),
        rs.getString(2),
        instant(rs, 3),
        instant(rs, 4),
        SyncStatus.fromWire(rs.getString(5)),
        rs.getInt(6),
        rs.getInt(7),
        rs.getDouble(8),
        rs.getObject(9, Long.class),
        rs.getObject(10, Long.class),
        rs.getString(11),
        rs.getString(12));
  }

  static Instant instant(ResultSet rs, int column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private static String text(Instant instant) {
    return instant == null ? null : EventCopy.timestampText(instant);
  }

  /**
   * The rows to insert for a batch. A client event_id repeated within the batch is inserted once;
   * its later copies are answered as duplicates of the first.
   */
  private static final class Plan {
    final List<StoredEvent> rows = new ArrayList<>();
    final int[] rowOfInput;
    final boolean[] repeatInBatch;
    final List<Boolean> clientKeyed = new ArrayList<>();
    final List<String> inputDevice = new ArrayList<>();
    final TreeSet<String> deviceIds = new TreeSet<>();
    Instant firstReceived;
    Instant lastReceived;

    private Plan(int size) {
      rowOfInput = new int[size];
      repeatInBatch = new boolean[size];
    }

    static Plan of(List<Incoming> batch) {
      Plan plan = new Plan(batch.size());
      Map<UUID, Integer> rowByClientId = new HashMap<>();
      for (int i = 0; i < batch.size(); i++) {
        Incoming in = batch.get(i);
        StoredEvent row = in.row();
        plan.noteReceived(row.receivedAt());
        plan.inputDevice.add(row.deviceId());
        plan.deviceIds.add(row.deviceId());
        Integer first = in.clientKeyed() ? rowByClientId.get(row.eventId()) : null;
        if (first != null) {
          plan.rowOfInput[i] = first;
          plan.repeatInBatch[i] = true;
          continue;
        }
        if (in.clientKeyed()) {
          rowByClientId.put(row.eventId(), plan.rows.size());
        }
        plan.rowOfInput[i] = plan.rows.size();
        plan.rows.add(row);
        plan.clientKeyed.add(in.clientKeyed());
      }
      return plan;
    }

    private void noteReceived(Instant t) {
      if (firstReceived == null || t.isBefore(firstReceived)) firstReceived = t;
      if (lastReceived == null || t.isAfter(lastReceived)) lastReceived = t;
    }

    List<IngestOutcome> outcomes(Set<UUID> inserted, Map<UUID, StoredEvent> originals) {
      List<IngestOutcome> out = new ArrayList<>(rowOfInput.length);
      for (int i = 0; i < rowOfInput.length; i++) {
        StoredEvent row = rows.get(rowOfInput[i]);
        boolean created = inserted.contains(row.eventId()) && !repeatInBatch[i];
        StoredEvent event = inserted.contains(row.eventId()) ? row : originals.get(row.eventId());
        if (event == null) {
          throw new IllegalStateException("event " + row.eventId() + " neither stored nor found");
        }
        if (created) {
          out.add(new IngestOutcome.Created(event));
        } else if (event.deviceId().equals(inputDevice.get(i))) {
          out.add(new IngestOutcome.Duplicate(event));
        } else {
          out.add(new IngestOutcome.IdConflict(event));
        }
      }
      return out;
    }
  }
}

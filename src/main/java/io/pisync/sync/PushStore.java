package io.pisync.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.server.Transactions;
import io.pisync.sync.MutationParser.Parsed;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * The SQL of a push: one transaction per push, so a push is stored whole or not at all.
 *
 * <ol>
 *   <li>lock the device (its pushes run one at a time, so a mutation id is claimed once), read
 *       which of the push's mutation ids it used before, its scopes and the collections' policies;
 *   <li>lock the records the new mutations touch (advisory locks, see {@link #lockRecords}; records
 *       that do not exist yet are locked too) and read their current state, and the edit times of
 *       the versions that time-ordered mutations edit;
 *   <li>decide each mutation in order ({@link PushBatch}, {@link Policies});
 *   <li>store the conflict history, the edit times of new time-ordered versions, each mutation with
 *       its answer, and the device's counters;
 *   <li>last: take feed positions for the changed records from the one-row counter, write the
 *       records and NOTIFY. The counter's row lock is held until COMMIT, so positions are in commit
 *       order.
 * </ol>
 */
final class PushStore {
  /** First key of the devices' advisory locks ("PiSy"). */
  private static final int DEVICE_LOCK_CLASS = 0x50695379;

  /**
   * First key of the record buckets' advisory locks ("PiSb"); single records use the one-key form.
   */
  private static final int BUCKET_LOCK_CLASS = 0x50695362;

  /** Record locks are grouped in this many buckets (by the record's lock key). */
  static final int LOCK_BUCKETS = 64;

  /** A push touching at most this many records locks each of them; a larger one, their buckets. */
  static final int MAX_RECORD_LOCKS = 32;

  private final DataSource dataSource;
  private final ObjectMapper mapper;
  private final Policies policies;

  PushStore(DataSource dataSource, ObjectMapper mapper) {
    this.dataSource = dataSource;
    this.mapper = mapper;
    this.policies = new Policies(mapper);
  }

  /** One result per item, in order. */
  List<PushResult> push(String device, List<Parsed> items, Instant receivedAt) throws SQLException {
    return Transactions.run(dataSource, c -> push(c, device, items, receivedAt));
  }

  private List<PushResult> push(Connection c, String device, List<Parsed> items, Instant receivedAt)
      throws SQLException {
    lockDevice(c, device);
    var batch =
        new PushBatch(
            device,
            receivedAt,
            mapper,
            policies,
            loadSeen(c, device, items),
            grantedScopes(c, device),
            loadPolicies(c, items));
    var current = lockAndLoad(c, batch.candidates(items));
    batch.setCurrent(current, loadTimes(c, batch.bases(items)));
    List<PushResult> results = new ArrayList<>(items.size());
    for (Parsed item : items) {
      results.add(batch.handle(item));
    }
    insertConflicts(c, batch.conflicts());
    insertVersions(c, batch.timed());
    insertMutations(c, device, receivedAt, batch.stored());
    recordReusedIds(c, device, batch.reused());
    updateDeviceState(c, device, receivedAt, items.size(), batch);
    if (batch.changed().isEmpty()) {
      return results;
    }
    long head = takePositions(c, batch.changed().size());
    List<StoredRecord> rows = numbered(batch.changed().values(), head);
    upsertRecords(c, rows);
    Set<String> scopes = new TreeSet<>();
    rows.forEach(r -> scopes.add(r.key().scope()));
    Notices.notify(c, mapper, new Notices.Notice(head, device, scopes, List.of()));
    return results;
  }

  private static void lockDevice(Connection c, String device) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(?))")) {
      ps.setInt(1, DEVICE_LOCK_CLASS);
      ps.setString(2, device);
      ps.execute();
    }
  }

  private static Map<String, PushBatch.Seen> loadSeen(
      Connection c, String device, List<Parsed> items) throws SQLException {
    Set<String> ids = new HashSet<>();
    for (Parsed item : items) {
      switch (item) {
        case Parsed.Valid v -> ids.add(v.mutation().mutationId());
        case Parsed.Invalid i -> i.mutationId().ifPresent(ids::add);
      }
    }
    Map<String, PushBatch.Seen> seen = new HashMap<>();
    if (ids.isEmpty()) return seen;
    String sql =
        """
        SELECT mutation_id, digest, result, received_at,
               status = 'rejected' AND result::jsonb ->> 'reason' = ANY(?::text[]), reused_digest
        FROM sync_mutations WHERE device_id = ? AND mutation_id = ANY(?::text[])
        """;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", PushBatch.RETRYABLE_REASONS.toArray()));
      ps.setString(2, device);
      ps.setArray(3, c.createArrayOf("text", ids.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          seen.put(
              rs.getString(1),
              new PushBatch.Seen(
                  rs.getString(2),
                  rs.getString(3),
                  instant(rs, 4),
                  rs.getBoolean(5),
                  rs.getString(6)));
        }
      }
    }
    return seen;
  }

  /**
   * The device's scopes, locked FOR SHARE until COMMIT: a revocation (which locks its grant FOR
   * UPDATE) waits for this push, or this push waits for it and no longer sees the grant. Either way
   * nothing is written into a scope after its revocation was answered. No deadlock: a push locks
   * grants before records and the feed; a revocation locks its grant, then the feed.
   */
  static Set<String> grantedScopes(Connection c, String device) throws SQLException {
    String sql =
        "SELECT scope FROM sync_grants WHERE device_id = ? AND granted_seq IS NOT NULL FOR SHARE";
    Set<String> scopes = new HashSet<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, device);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) scopes.add(rs.getString(1));
      }
    }
    return scopes;
  }

  private static Map<String, Policy> loadPolicies(Connection c, List<Parsed> items)
      throws SQLException {
    Set<String> names = new HashSet<>();
    for (Parsed item : items) {
      if (item instanceof Parsed.Valid v) names.add(v.mutation().key().collection());
    }
    Map<String, Policy> policies = new HashMap<>();
    if (names.isEmpty()) return policies;
    // FOR SHARE until COMMIT: a policy change (which locks its collection FOR UPDATE) waits for
    // this push and then sees its records, or this push waits for it and reads the new policy. No
    // deadlock: a change locks only its collection; a push locks collections before records.
    String sql =
        "SELECT name, policy FROM sync_collections WHERE name = ANY(?::text[])"
            + " ORDER BY name FOR SHARE";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", names.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next())
          policies.put(rs.getString(1), Policy.parse(rs.getString(2)).orElseThrow());
      }
    }
    return policies;
  }

  private static final String LOAD_RECORDS =
      """
      SELECT r.scope, r.collection, r.record_id, r.version, r.deleted, r.data::text,
             r.modified_at, r.updated_at, r.updated_by, r.mutation_id, r.exact, r.seq
      FROM unnest(?::text[], ?::text[], ?::text[]) AS k(scope, collection, record_id)
      JOIN sync_records r
        ON r.scope = k.scope AND r.collection = k.collection AND r.record_id = k.record_id
      """;

  /** Locks every key (existing or not), then reads the current records. */
  private static Map<RecordKey, StoredRecord> lockAndLoad(Connection c, Set<RecordKey> keys)
      throws SQLException {
    Map<RecordKey, StoredRecord> current = new HashMap<>();
    if (keys.isEmpty()) return current;
    lockRecords(c, keys);
    try (PreparedStatement ps = c.prepareStatement(LOAD_RECORDS)) {
      ps.setArray(1, c.createArrayOf("text", keys.stream().map(RecordKey::scope).toArray()));
      ps.setArray(2, c.createArrayOf("text", keys.stream().map(RecordKey::collection).toArray()));
      ps.setArray(3, c.createArrayOf("text", keys.stream().map(RecordKey::recordId).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          StoredRecord r = readRecord(rs, 1);
          current.put(r.key(), r);
        }
      }
    }
    return current;
  }

  /** The effective times of these versions that the server keeps. */
  private static Map<PushBatch.RecordVersion, Instant> loadTimes(
      Connection c, Set<PushBatch.RecordVersion> versions) throws SQLException {
    Map<PushBatch.RecordVersion, Instant> times = new HashMap<>();
    if (versions.isEmpty()) return times;
    String sql =
        """
        SELECT v.scope, v.collection, v.record_id, v.version, v.modified_at
        FROM unnest(?::text[], ?::text[], ?::text[], ?::int8[]) AS k(scope, collection, record_id, version)
        JOIN sync_versions v ON v.scope = k.scope AND v.collection = k.collection
          AND v.record_id = k.record_id AND v.version = k.version
        """;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      setKeysAndVersions(
          c,
          ps,
          List.copyOf(versions),
          PushBatch.RecordVersion::key,
          PushBatch.RecordVersion::version);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          var key = new RecordKey(rs.getString(1), rs.getString(2), rs.getString(3));
          times.put(new PushBatch.RecordVersion(key, rs.getLong(4)), instant(rs, 5));
        }
      }
    }
    return times;
  }

  /** One advisory lock to take: on a bucket, shared or exclusive, or on one record. */
  private record Lock(String mode, long key) {}

  private static final String TAKE_LOCKS =
      """
      SELECT count(CASE l.mode
                     WHEN 'bucket_shared' THEN pg_advisory_xact_lock_shared(?, l.key::int4)
                     WHEN 'bucket' THEN pg_advisory_xact_lock(?, l.key::int4)
                     ELSE pg_advisory_xact_lock(l.key) END)
      FROM unnest(?::text[], ?::int8[]) AS l(mode, key)
      """;

  /**
   * Locks the records, with at most {@link #LOCK_BUCKETS} advisory locks whatever the push's size:
   * PostgreSQL keeps every lock in one shared table of max_locks_per_transaction (64) x connections
   * entries, which a thousand locks per push would fill ("out of shared memory").
   *
   * <p>Each record falls in one of {@link #LOCK_BUCKETS} buckets. A push of at most {@link
   * #MAX_RECORD_LOCKS} records shares each bucket it touches and locks each record alone, so such
   * pushes exclude each other only on the same record; a larger push locks its buckets whole. Locks
   * are taken in one global order (bucket, then the bucket before its records, then records by
   * key), so pushes never deadlock.
   */
  private static void lockRecords(Connection c, Set<RecordKey> keys) throws SQLException {
    Map<Integer, java.util.SortedSet<Long>> buckets = new java.util.TreeMap<>();
    for (RecordKey key : keys) {
      int bucket = Math.floorMod(key.lockKey(), LOCK_BUCKETS);
      buckets.computeIfAbsent(bucket, b -> new java.util.TreeSet<>()).add(key.lockKey());
    }
    boolean whole = keys.size() > MAX_RECORD_LOCKS;
    List<Lock> locks = new ArrayList<>();
    buckets.forEach((bucket, records) -> {
      locks.add(new Lock(whole ? "bucket" : "bucket_shared", bucket));
      if (!whole) records.forEach(k -> locks.add(new Lock("record", k)));
    });
    try (PreparedStatement ps = c.prepareStatement(TAKE_LOCKS)) {
      ps.setInt(1, BUCKET_LOCK_CLASS);
      ps.setInt(2, BUCKET_LOCK_CLASS);
      ps.setArray(3, c.createArrayOf("text", locks.stream().map(Lock::mode).toArray()));
      ps.setArray(4, c.createArrayOf("int8", locks.stream().map(Lock::key).toArray()));
      ps.execute();
    }
  }

  /** Reads the 12 columns of {@link #LOAD_RECORDS} from {@code first} on. */
  static StoredRecord readRecord(ResultSet rs, int first) throws SQLException {
    int i = first;
    var key = new RecordKey(rs.getString(i), rs.getString(i + 1), rs.getString(i + 2));
    return new StoredRecord(
        key,
        rs.getLong(i + 3),
        rs.getBoolean(i + 4),
        rs.getString(i + 5),
        instant(rs, i + 6),
        instant(rs, i + 7),
        rs.getString(i + 8),
        rs.getString(i + 9),
        rs.getBoolean(i + 10),
        rs.getLong(i + 11));
  }

  static Instant instant(ResultSet rs, int column) throws SQLException {
    var value = rs.getObject(column, java.time.OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private static final String INSERT_CONFLICTS =
      """
      INSERT INTO sync_conflicts (scope, collection, record_id, occurred_at, reason,
          winner_version, winner_device, loser_version, loser_device, loser_mutation_id,
          loser_deleted, loser_data, loser_modified_at)
      SELECT s, c, r, o::timestamptz, re, wv, wd, lv, ld, lm, ldel, ldata::jsonb, lmod::timestamptz
      FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int8[], ?::text[],
                  ?::int8[], ?::text[], ?::text[], ?::bool[], ?::text[], ?::text[])
        AS t(s, c, r, o, re, wv, wd, lv, ld, lm, ldel, ldata, lmod)
      """;

  private static void insertConflicts(Connection c, List<PushBatch.ConflictRow> rows)
      throws SQLException {
    if (rows.isEmpty()) return;
    int n = rows.size();
    Object[][] cols = new Object[13][n];
    for (int i = 0; i < n; i++) {
      PushBatch.ConflictRow row = rows.get(i);
      Policies.Loser loser = row.loser();
      Object[] values = {
        row.key().scope(),
        row.key().collection(),
        row.key().recordId(),
        row.at().toString(),
        loser.reason(),
        row.winnerVersion(),
        row.winnerDevice(),
        loser.version(),
        loser.device(),
        loser.mutationId(),
        loser.deleted(),
        loser.data(),
        loser.modifiedAt().toString()
      };
      for (int col = 0; col < 13; col++) cols[col][i] = values[col];
    }
    String[] types = {
      "text", "text", "text", "text", "text", "int8", "text", "int8", "text", "text", "bool",
      "text", "text"
    };
    try (PreparedStatement ps = c.prepareStatement(INSERT_CONFLICTS)) {
      for (int col = 0; col < 13; col++) {
        ps.setArray(col + 1, c.createArrayOf(types[col], cols[col]));
      }
      ps.executeUpdate();
    }
  }

  /** Keeps the effective times of new versions that concurrent edits are ordered against. */
  private static void insertVersions(Connection c, List<StoredRecord> rows) throws SQLException {
    if (rows.isEmpty()) return;
    String sql =
        """
        INSERT INTO sync_versions (scope, collection, record_id, version, modified_at)
        SELECT s, c, r, v, m::timestamptz
        FROM unnest(?::text[], ?::text[], ?::text[], ?::int8[], ?::text[]) AS t(s, c, r, v, m)
        ON CONFLICT (scope, collection, record_id, version)
          DO UPDATE SET modified_at = excluded.modified_at
        """;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      setKeysAndVersions(c, ps, rows, StoredRecord::key, StoredRecord::version);
      ps.setArray(
          5, c.createArrayOf("text", rows.stream().map(r -> r.modifiedAt().toString()).toArray()));
      ps.executeUpdate();
    }
  }

  private static void insertMutations(
      Connection c, String device, Instant receivedAt, List<PushBatch.MutationRow> rows)
      throws SQLException {
    if (rows.isEmpty()) return;
    String sql =
        """
        INSERT INTO sync_mutations (device_id, mutation_id, received_at, digest, status, result)
        SELECT ?, m, ?, d, s, r FROM unnest(?::text[], ?::text[], ?::text[], ?::text[])
          AS t(m, d, s, r)
        ON CONFLICT (device_id, mutation_id) DO UPDATE
          SET received_at = EXCLUDED.received_at, status = EXCLUDED.status, result = EXCLUDED.result
        """;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, device);
      ps.setObject(2, receivedAt.atOffset(ZoneOffset.UTC));
      ps.setArray(3, c.createArrayOf("text", rows.stream().map(r -> r.mutationId()).toArray()));
      ps.setArray(4, c.createArrayOf("text", rows.stream().map(r -> r.digest()).toArray()));
      ps.setArray(5, c.createArrayOf("text", rows.stream().map(r -> r.status()).toArray()));
      ps.setArray(6, c.createArrayOf("text", rows.stream().map(r -> r.result()).toArray()));
      ps.executeUpdate();
    }
  }

  private static void recordReusedIds(Connection c, String device, Map<String, String> digests)
      throws SQLException {
    if (digests.isEmpty()) return;
    String sql =
        """
        UPDATE sync_mutations m SET reused_digest = r.d
        FROM unnest(?::text[], ?::text[]) AS r(id, d)
        WHERE m.device_id = ? AND m.mutation_id = r.id
        """;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", digests.keySet().toArray()));
      ps.setArray(2, c.createArrayOf("text", digests.values().toArray()));
      ps.setString(3, device);
      ps.executeUpdate();
    }
  }

  private static final String UPDATE_DEVICE_STATE =
      """
      INSERT INTO sync_device_state AS s (device_id, last_push_at, last_push_mutations, pushes,
          applied, duplicates, conflicts, rejected, last_conflict_at, last_rejection_at)
      VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (device_id) DO UPDATE SET
        last_push_at = excluded.last_push_at,
        last_push_mutations = excluded.last_push_mutations,
        pushes = s.pushes + 1,
        applied = s.applied + excluded.applied,
        duplicates = s.duplicates + excluded.duplicates,
        conflicts = s.conflicts + excluded.conflicts,
        rejected = s.rejected + excluded.rejected,
        last_conflict_at = coalesce(excluded.last_conflict_at, s.last_conflict_at),
        last_rejection_at = coalesce(excluded.last_rejection_at, s.last_rejection_at)
      """;

  private static void updateDeviceState(
      Connection c, String device, Instant at, int mutations, PushBatch batch) throws SQLException {
    PushBatch.Counts n = batch.counts();
    var when = at.atOffset(ZoneOffset.UTC);
    try (PreparedStatement ps = c.prepareStatement(UPDATE_DEVICE_STATE)) {
      ps.setString(1, device);
      ps.setObject(2, when);
      ps.setInt(3, mutations);
      ps.setLong(4, n.applied());
      ps.setLong(5, n.duplicates());
      ps.setLong(6, n.conflicts());
      ps.setLong(7, n.rejected());
      ps.setObject(8, n.conflicts() > 0 ? when : null);
      ps.setObject(9, n.rejected() > 0 ? when : null);
      ps.executeUpdate();
    }
  }

  /**
   * Takes {@code count} feed positions and returns the new head. Held until COMMIT: run it last.
   */
  static long takePositions(Connection c, int count) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("UPDATE sync_feed SET head = head + ? RETURNING head")) {
      ps.setLong(1, count);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static List<StoredRecord> numbered(
      java.util.Collection<StoredRecord> changed, long head) {
    List<StoredRecord> rows = new ArrayList<>(changed.size());
    long position = head - changed.size();
    for (StoredRecord r : changed) rows.add(r.atSeq(++position));
    return rows;
  }

  private static final String UPSERT_RECORDS =
      """
      INSERT INTO sync_records AS r (scope, collection, record_id, version, seq, deleted, data,
          modified_at, updated_at, updated_by, mutation_id, exact)
      SELECT s, c, id, v, q, d, j::jsonb, m::timestamptz, u::timestamptz, b, mu, e
      FROM unnest(?::text[], ?::text[], ?::text[], ?::int8[], ?::int8[], ?::bool[], ?::text[],
                  ?::text[], ?::text[], ?::text[], ?::text[], ?::bool[])
        AS t(s, c, id, v, q, d, j, m, u, b, mu, e)
      ON CONFLICT (scope, collection, record_id) DO UPDATE SET
        version = excluded.version, seq = excluded.seq, deleted = excluded.deleted,
        data = excluded.data, modified_at = excluded.modified_at,
        updated_at = excluded.updated_at, updated_by = excluded.updated_by,
        mutation_id = excluded.mutation_id, exact = excluded.exact
      """;

  /** Parameters 1 to 4: each row's scope, collection, record id and version, as arrays. */
  private static <T> void setKeysAndVersions(
      Connection c,
      PreparedStatement ps,
      List<T> rows,
      Function<T, RecordKey> key,
      Function<T, Long> version)
      throws SQLException {
    ps.setArray(1, c.createArrayOf("text", rows.stream().map(r -> key.apply(r).scope()).toArray()));
    ps.setArray(
        2, c.createArrayOf("text", rows.stream().map(r -> key.apply(r).collection()).toArray()));
    ps.setArray(
        3, c.createArrayOf("text", rows.stream().map(r -> key.apply(r).recordId()).toArray()));
    ps.setArray(4, c.createArrayOf("int8", rows.stream().map(version).toArray()));
  }

  private static void upsertRecords(Connection c, List<StoredRecord> rows) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPSERT_RECORDS)) {
      setKeysAndVersions(c, ps, rows, StoredRecord::key, StoredRecord::version);
      ps.setArray(5, c.createArrayOf("int8", rows.stream().map(StoredRecord::seq).toArray()));
      ps.setArray(6, c.createArrayOf("bool", rows.stream().map(StoredRecord::deleted).toArray()));
      ps.setArray(7, c.createArrayOf("text", rows.stream().map(StoredRecord::data).toArray()));
      ps.setArray(
          8, c.createArrayOf("text", rows.stream().map(r -> r.modifiedAt().toString()).toArray()));
      ps.setArray(
          9, c.createArrayOf("text", rows.stream().map(r -> r.updatedAt().toString()).toArray()));
      ps.setArray(
          10, c.createArrayOf("text", rows.stream().map(StoredRecord::updatedBy).toArray()));
      ps.setArray(
          11, c.createArrayOf("text", rows.stream().map(StoredRecord::mutationId).toArray()));
      ps.setArray(12, c.createArrayOf("bool", rows.stream().map(StoredRecord::exact).toArray()));
      ps.executeUpdate();
    }
  }
}

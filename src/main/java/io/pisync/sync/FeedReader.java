package io.pisync.sync;

import io.pisync.http.ApiProblem;
import io.pisync.http.FieldError;
import io.pisync.http.ProblemType;
import io.pisync.server.Transactions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Pulls: the changes in a device's scopes after its cursor, read in one snapshot (REPEATABLE READ),
 * so the page, the feed head and the grants agree.
 *
 * <p>Per granted scope, two index range scans of {@code (scope, seq)}: the records that existed
 * when the scope was granted, all at the grant's position (only while the cursor has not passed the
 * grant), and the records changed after the grant and after the cursor, at their own positions.
 * Feed positions are handed out in commit order, so nothing below the head of this snapshot can
 * still appear later: a cursor never passes a change it did not deliver.
 */
final class FeedReader {
  /**
   * A page ends once its records' data reaches this many characters of JSON (about 4 MiB), however
   * large the limit: a page is held in memory whole, and records may be 64 KiB each.
   */
  static final int MAX_PAGE_DATA_CHARS = 4 * 1024 * 1024;

  /**
   * Rows fetched from PostgreSQL at a time: the data of rows after the page's end is never read.
   */
  private static final int FETCH_ROWS = 64;

  private final DataSource dataSource;
  private final int retentionDays;

  /** One granted or revoked scope of the device. */
  private record Grant(String scope, Long grantedSeq, Long revokedSeq) {}

  /** A page of changes; {@code next} resumes after it. */
  record Page(
      List<RecordView> changes,
      List<String> revokedScopes,
      SyncCursor next,
      boolean hasMore,
      long head) {}

  FeedReader(DataSource dataSource, int retentionDays) {
    this.dataSource = dataSource;
    this.retentionDays = retentionDays;
  }

  /** The feed head now. */
  long head() throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return head(c);
    }
  }

  private static long head(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT head FROM sync_feed")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * @param cursor where the device is; empty for an initial sync
   */
  Page pull(String device, Optional<SyncCursor> cursor, int limit) throws SQLException {
    return Transactions.run(dataSource, c -> pull(c, device, cursor, limit));
  }

  private Page pull(Connection c, String device, Optional<SyncCursor> given, int limit)
      throws SQLException {
    try (Statement st = c.createStatement()) {
      // One snapshot for the page, the head and the grants. The planner cannot see how many rows
      // a scope has behind the LATERAL: with bitmap scans it would read and sort every record
      // after the cursor for each page; an ordered index scan stops after one page.
      st.execute(
          "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;"
              + " SET LOCAL enable_bitmapscan = off");
    }
    long head = head(c);
    SyncCursor cursor = given.orElse(SyncCursor.initial(head));
    if (cursor.position() > head) {
      throw resync(
          "cursor position "
              + cursor.position()
              + " is ahead of this server's feed ("
              + head
              + "): the server's data was replaced");
    }
    List<Grant> grants = grants(c, device);
    checkHorizon(c, cursor, grants);
    Rows rows = changes(c, device, cursor, grants, limit);
    boolean hasMore = rows.more();
    List<Row> page = rows.page();
    SyncCursor next =
        hasMore
            ? new SyncCursor(page.getLast().position(), page.getLast().seq(), cursor.epoch())
            : SyncCursor.at(head);
    List<String> revoked = revokedBetween(grants, cursor.position(), next.position());
    return new Page(page.stream().map(Row::record).toList(), revoked, next, hasMore, head);
  }

  private static List<Grant> grants(Connection c, String device) throws SQLException {
    String sql = "SELECT scope, granted_seq, revoked_seq FROM sync_grants WHERE device_id = ?";
    List<Grant> grants = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, device);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          grants.add(
              new Grant(rs.getString(1), rs.getObject(2, Long.class), rs.getObject(3, Long.class)));
        }
      }
    }
    return grants;
  }

  /**
   * A tombstone purged after the cursor, in a scope the device was following at the cursor, is a
   * deletion the device can no longer learn of: it must start again. A scope granted at or before
   * the cursor's position is followed: at the grant's position itself the device has (part of) its
   * backfill, and a record sent there may since have been deleted.
   */
  private void checkHorizon(Connection c, SyncCursor cursor, List<Grant> grants)
      throws SQLException {
    List<String> followed =
        grants.stream()
            .filter(g -> g.grantedSeq() != null && g.grantedSeq() <= cursor.position())
            .map(Grant::scope)
            .toList();
    if (followed.isEmpty()) return;
    String sql =
        "SELECT max(purged_through) FROM sync_scope_horizon"
            + " WHERE scope = ANY(?::text[]) AND purged_through > ?";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", followed.toArray()));
      // an initial sync began at its epoch: deletions before that were never live in it
      ps.setLong(2, Math.max(cursor.position(), cursor.epoch()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        long purged = rs.getLong(1);
        if (!rs.wasNull()) {
          throw resync(
              "cursor position "
                  + cursor.position()
                  + " is older than the deletions this server keeps: tombstones up to position "
                  + purged
                  + " were purged after "
                  + retentionDays
                  + " days");
        }
      }
    }
  }

  private ApiProblem resync(String why) {
    return new ApiProblem(
            ProblemType.RESYNC_REQUIRED,
            why
                + ". Push pending mutations, then pull without a cursor and replace the local"
                + " data with what it returns.")
        .withMember("retention_days", retentionDays);
  }

  /**
   * The page's changes in feed order. Each scope's two index range scans yield at most {@code limit
   * + 1} rows, and every scope's rows are sorted together to find the page; so the rows carry only
   * their place and the row's address (ctid), and each record's data is read (detoasted, turned
   * into text) by that address only as the page is fetched. The page ends at 4 MiB of data, so with
   * large records most of the rows sorted are never fetched, and their data never read.
   */
  private static final String CHANGES =
      """
      SELECT x.eff, x.seq, x.scope, x.collection, x.record_id, x.version, x.deleted, d.data,
             x.modified_at, x.updated_at, x.updated_by
      FROM (
        SELECT y.*
        FROM unnest(?::text[], ?::int8[], ?::int8[], ?::int8[]) AS g(scope, granted, p1, p2)
        CROSS JOIN LATERAL (
          (SELECT g.granted AS eff, r.seq, r.scope, r.collection, r.record_id, r.version,
                  r.deleted, r.modified_at, r.updated_at, r.updated_by, r.ctid AS tid
           FROM sync_records r
           WHERE r.scope = g.scope AND r.seq > g.p1 AND r.seq <= g.granted
           ORDER BY r.seq LIMIT ?)
          UNION ALL
          (SELECT r.seq AS eff, r.seq, r.scope, r.collection, r.record_id, r.version,
                  r.deleted, r.modified_at, r.updated_at, r.updated_by, r.ctid AS tid
           FROM sync_records r
           WHERE r.scope = g.scope AND r.seq > g.p2
             AND NOT (r.exact AND r.updated_by = ? AND r.seq > ?)
           ORDER BY r.seq LIMIT ?)
        ) y
        ORDER BY y.eff, y.seq
        LIMIT ?
      ) x
      CROSS JOIN LATERAL (SELECT r.data::text AS data FROM sync_records r WHERE r.ctid = x.tid) d
      ORDER BY x.eff, x.seq
      """;

  /** One change with its place in the feed. */
  private record Row(long position, long seq, RecordView record) {}

  /** A page of changes, and whether more follow it. */
  private record Rows(List<Row> page, boolean more) {}

  /**
   * The changes after the cursor, up to {@code limit} of them or {@link #MAX_PAGE_DATA_CHARS} of
   * data (at least one change).
   */
  private static Rows changes(
      Connection c, String device, SyncCursor cursor, List<Grant> grants, int limit)
      throws SQLException {
    List<Grant> active = grants.stream().filter(g -> g.grantedSeq() != null).toList();
    List<Row> rows = new ArrayList<>();
    if (active.isEmpty()) return new Rows(rows, false);
    int n = active.size();
    Object[] scopes = new Object[n];
    Object[] granted = new Object[n];
    Object[] backfillAfter = new Object[n];
    Object[] changedAfter = new Object[n];
    for (int i = 0; i < n; i++) {
      long g = active.get(i).grantedSeq();
      scopes[i] = active.get(i).scope();
      granted[i] = g;
      // Records that existed at the grant come at the grant's position, until the cursor passes it.
      backfillAfter[i] = g > cursor.position() ? -1L : g == cursor.position() ? cursor.seq() : g;
      changedAfter[i] = Math.max(g, cursor.position());
    }
    try (PreparedStatement ps = c.prepareStatement(CHANGES)) {
      ps.setArray(1, c.createArrayOf("text", scopes));
      ps.setArray(2, c.createArrayOf("int8", granted));
      ps.setArray(3, c.createArrayOf("int8", backfillAfter));
      ps.setArray(4, c.createArrayOf("int8", changedAfter));
      ps.setInt(5, limit + 1);
      ps.setString(6, device);
      ps.setLong(7, cursor.epoch());
      ps.setInt(8, limit + 1);
      ps.setInt(9, limit + 1);
      ps.setFetchSize(FETCH_ROWS);
      try (ResultSet rs = ps.executeQuery()) {
        long chars = 0;
        while (rs.next()) {
          if (rows.size() == limit || chars >= MAX_PAGE_DATA_CHARS) return new Rows(rows, true);
          Row row = row(rs);
          rows.add(row);
          chars += row.record().data() == null ? 0 : row.record().data().length();
        }
      }
    }
    return new Rows(rows, false);
  }

  private static Row row(ResultSet rs) throws SQLException {
    var record =
        new RecordView(
            rs.getString(4),
            rs.getString(3),
            rs.getString(5),
            rs.getLong(6),
            rs.getBoolean(7),
            rs.getString(8),
            PushStore.instant(rs, 9),
            PushStore.instant(rs, 10),
            rs.getString(11));
    return new Row(rs.getLong(1), rs.getLong(2), record);
  }

  /** Scopes revoked at a position this page covers: the device drops their data first. */
  private static List<String> revokedBetween(List<Grant> grants, long after, long upTo) {
    return grants.stream()
        .filter(g -> g.revokedSeq() != null && g.revokedSeq() > after && g.revokedSeq() <= upTo)
        .map(Grant::scope)
        .sorted()
        .toList();
  }

  private static final String RECORD_PULL =
      """
      INSERT INTO sync_device_state AS s (device_id, last_pull_at, last_pull_cursor,
          last_pull_position, last_pull_changes, last_pull_complete, pulls)
      VALUES (?, ?, ?, ?, ?, ?, 1)
      ON CONFLICT (device_id) DO UPDATE SET
        last_pull_at = excluded.last_pull_at, last_pull_cursor = excluded.last_pull_cursor,
        last_pull_position = excluded.last_pull_position,
        last_pull_changes = excluded.last_pull_changes,
        last_pull_complete = excluded.last_pull_complete, pulls = s.pulls + 1
      """;

  private static final String RECORD_FAILED_PULL =
      """
      INSERT INTO sync_device_state AS s (device_id, failed_pulls, last_pull_error_at,
          last_pull_error_type, last_pull_error)
      VALUES (?, 1, ?, ?, ?)
      ON CONFLICT (device_id) DO UPDATE SET
        failed_pulls = s.failed_pulls + 1, last_pull_error_at = excluded.last_pull_error_at,
        last_pull_error_type = excluded.last_pull_error_type,
        last_pull_error = excluded.last_pull_error
      """;

  /** Notes a pull the server refused (its cursor), as {@link #recordPull} notes one it answered. */
  void recordFailedPull(String device, ApiProblem problem, Instant at) throws SQLException {
    note(
        RECORD_FAILED_PULL,
        ps -> {
          ps.setString(1, device);
          ps.setObject(2, at.atOffset(ZoneOffset.UTC));
          ps.setString(3, problem.type().uri());
          ps.setString(4, FieldError.shorten(problem.detail()));
        });
  }

  /** Notes the pull in the device's sync state. */
  void recordPull(String device, Page page, Instant at) throws SQLException {
    note(
        RECORD_PULL,
        ps -> {
          ps.setString(1, device);
          ps.setObject(2, at.atOffset(ZoneOffset.UTC));
          ps.setString(3, page.next().encode());
          ps.setLong(4, page.next().position());
          ps.setInt(5, page.changes().size());
          ps.setBoolean(6, !page.hasMore());
        });
  }

  private interface Parameters {
    void bind(PreparedStatement ps) throws SQLException;
  }

  /**
   * Runs one statement on the device's sync state. Information for operators, not data: committed
   * without waiting for the disk, so a pull costs no fsync.
   */
  private void note(String sql, Parameters parameters) throws SQLException {
    Transactions.run(
        dataSource,
        c -> {
          try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL synchronous_commit = off");
          }
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            parameters.bind(ps);
            return ps.executeUpdate();
          }
        });
  }
}

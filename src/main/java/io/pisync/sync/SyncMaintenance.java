package io.pisync.sync;

import io.pisync.server.Transactions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Purges, at startup and hourly: tombstones older than the tombstone retention, with their conflict
 * history and version times (moving each scope's horizon, below which cursors get 410), and
 * remembered mutation ids older than the mutation retention. Deletes in chunks, so no transaction
 * runs long.
 */
public final class SyncMaintenance implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SyncMaintenance.class);
  private static final int CHUNK = 5_000;

  private final DataSource dataSource;
  private final InstantSource clock;
  private final Duration tombstoneRetention;
  private final Duration mutationRetention;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().daemon().name("pisync-sync-purge").unstarted(r));

  /** What one run purged. */
  public record Purged(long tombstones, long mutations) {}

  SyncMaintenance(
      DataSource dataSource,
      InstantSource clock,
      Duration tombstoneRetention,
      Duration mutationRetention) {
    this.dataSource = dataSource;
    this.clock = clock;
    this.tombstoneRetention = tombstoneRetention;
    this.mutationRetention = mutationRetention;
  }

  void start() {
    scheduler.scheduleWithFixedDelay(this::purgeQuietly, 0, 1, TimeUnit.HOURS);
  }

  private void purgeQuietly() {
    try {
      Purged purged = purge();
      if (purged.tombstones() + purged.mutations() > 0) {
        log.info(
            "purged {} tombstones and {} mutation ids", purged.tombstones(), purged.mutations());
      }
    } catch (SQLException | RuntimeException e) {
      log.warn("sync purge failed: {}", e.toString());
    }
  }

  /** Purges what is due now. */
  public synchronized Purged purge() throws SQLException {
    Instant now = clock.instant();
    long tombstones = 0;
    for (long n = CHUNK; n == CHUNK; tombstones += n) {
      n = purgeTombstones(now.minus(tombstoneRetention), now);
    }
    long mutations = 0;
    for (long n = CHUNK; n == CHUNK; mutations += n) {
      n = purgeMutations(now.minus(mutationRetention));
    }
    return new Purged(tombstones, mutations);
  }

  private static final String PURGE_TOMBSTONES =
      """
      WITH purged AS (
        DELETE FROM sync_records r
        WHERE (r.scope, r.collection, r.record_id) IN (
          SELECT scope, collection, record_id FROM sync_records
          WHERE deleted AND updated_at < ? LIMIT ?)
          AND r.deleted AND r.updated_at < ?
        RETURNING r.scope, r.collection, r.record_id, r.seq
      ), history AS (
        DELETE FROM sync_conflicts c USING purged p
        WHERE c.scope = p.scope AND c.collection = p.collection AND c.record_id = p.record_id
      ), versions AS (
        DELETE FROM sync_versions v USING purged p
        WHERE v.scope = p.scope AND v.collection = p.collection AND v.record_id = p.record_id
      ), horizon AS (
        INSERT INTO sync_scope_horizon AS h (scope, purged_through, purged_at)
        SELECT scope, max(seq), ? FROM purged GROUP BY scope
        ON CONFLICT (scope) DO UPDATE
          SET purged_through = greatest(h.purged_through, excluded.purged_through),
              purged_at = excluded.purged_at
      )
      SELECT count(*) FROM purged
      """;

  private long purgeTombstones(Instant before, Instant now) throws SQLException {
    return Transactions.run(
        dataSource,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(PURGE_TOMBSTONES)) {
            ps.setObject(1, before.atOffset(ZoneOffset.UTC));
            ps.setInt(2, CHUNK);
            ps.setObject(3, before.atOffset(ZoneOffset.UTC));
            ps.setObject(4, now.atOffset(ZoneOffset.UTC));
            return count(ps);
          }
        });
  }

  private long purgeMutations(Instant before) throws SQLException {
    String sql =
        """
        WITH purged AS (
          DELETE FROM sync_mutations WHERE (device_id, mutation_id) IN (
            SELECT device_id, mutation_id FROM sync_mutations WHERE received_at < ? LIMIT ?)
          RETURNING 1)
        SELECT count(*) FROM purged
        """;
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, before.atOffset(ZoneOffset.UTC));
      ps.setInt(2, CHUNK);
      return count(ps);
    }
  }

  private static long count(PreparedStatement ps) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}

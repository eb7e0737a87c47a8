package io.pisync.telemetry;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.InstantSource;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps monthly partitions of {@code sync_events} ready ahead of time: at startup and every hour it
 * creates any missing partition from this month to {@link #MONTHS_AHEAD} months on.
 */
public final class PartitionMaintenance implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PartitionMaintenance.class);
  static final int MONTHS_AHEAD = 3;

  private final DataSource dataSource;
  private final InstantSource clock;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().daemon().name("pisync-partitions").unstarted(r));

  public PartitionMaintenance(DataSource dataSource, InstantSource clock) {
    this.dataSource = dataSource;
    this.clock = clock;
  }

  /** Creates missing partitions now, then hourly. */
  public void start() throws SQLException {
    ensurePartitions();
    scheduler.scheduleAtFixedRate(this::ensureQuietly, 1, 1, TimeUnit.HOURS);
  }

  public int ensurePartitions() throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT pisync_ensure_partitions(?, ?)")) {
      ps.setTimestamp(1, Timestamp.from(clock.instant()));
      ps.setInt(2, MONTHS_AHEAD);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        int created = rs.getInt(1);
        if (created > 0) {
          log.info("created {} sync_events partitions", created);
        }
        return created;
      }
    }
  }

  private void ensureQuietly() {
    try {
      ensurePartitions();
    } catch (SQLException | RuntimeException e) {
      log.warn("could not create sync_events partitions: {}", e.toString());
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}

package io.pisync.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.http.Routes;
import java.time.Duration;
import java.time.InstantSource;
import javax.sql.DataSource;

/** Record sync, wired: its stores, its HTTP routes, the stream listener and the purge job. */
public final class RecordSync implements AutoCloseable {
  private final SyncStreams streams;
  private final SyncMaintenance maintenance;
  private final SyncRoutes deviceRoutes;
  private final SyncAdminRoutes adminRoutes;

  public RecordSync(
      DataSource dataSource,
      io.pisync.server.NoticeListener.Connections listenConnections,
      ObjectMapper mapper,
      InstantSource clock,
      SyncSettings settings) {
    var feed = new FeedReader(dataSource, settings.tombstoneRetentionDays());
    var grants = new GrantStore(dataSource, mapper);
    var pushes = new PushStore(dataSource, mapper);
    this.streams =
        new SyncStreams(
            listenConnections,
            mapper,
            grants,
            feed,
            Duration.ofSeconds(settings.streamHeartbeatSeconds()),
            settings.maxStreams());
    this.maintenance =
        new SyncMaintenance(
            dataSource,
            clock,
            Duration.ofDays(settings.tombstoneRetentionDays()),
            Duration.ofDays(settings.mutationRetentionDays()));
    this.deviceRoutes =
        new SyncRoutes(pushes, feed, streams, new MutationParser(mapper), mapper, clock, settings);
    this.adminRoutes =
        new SyncAdminRoutes(
            grants,
            new CollectionStore(dataSource),
            new RecordBrowser(dataSource),
            new SyncStateStore(dataSource, mapper),
            feed,
            mapper,
            clock);
  }

  public void register(Routes routes) {
    deviceRoutes.register(routes);
    adminRoutes.register(routes);
  }

  /** Starts listening for changes and the hourly purge. */
  public void start() {
    streams.start();
    maintenance.start();
  }

  public SyncStreams streams() {
    return streams;
  }

  public SyncMaintenance maintenance() {
    return maintenance;
  }

  /** Ends the streams first, so the HTTP server can stop without waiting for them. */
  @Override
  public void close() {
    streams.close();
    maintenance.close();
  }
}

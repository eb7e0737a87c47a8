package io.pisync.server;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs on one PostgreSQL channel, on a connection of its own, on one thread, and hands each
 * NOTIFY payload to its handler. A lost connection is opened again with backoff; since notices sent
 * meanwhile are lost, the handler is told when listening stops and when it starts again.
 */
public final class NoticeListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NoticeListener.class);

  /** Opens a database connection of its own (not from the pool) for LISTEN. */
  public interface Connections {
    Connection open() throws SQLException;
  }

  /** What to do as notices arrive. */
  public interface Handler {
    /** Listening (again): whatever was sent while not listening was missed. */
    void listening() throws SQLException;

    void notice(String payload) throws SQLException;

    /** Not listening any more, until {@link #listening()} is called again. */
    default void deaf() {}
  }

  static final java.time.Duration PING_EVERY = java.time.Duration.ofSeconds(5);

  private final String channel;
  private final Connections connections;
  private final Handler handler;
  private volatile boolean closed;
  private volatile long lastHeardNanos = System.nanoTime() - Long.MAX_VALUE / 2;
  private Thread thread;

  /** {@code channel} must be a plain identifier (it is not quoted). */
  public NoticeListener(String channel, Connections connections, Handler handler) {
    if (!channel.matches("[a-z_][a-z0-9_]*")) {
      throw new IllegalArgumentException("not a plain channel name: " + channel);
    }
    this.channel = channel;
    this.connections = connections;
    this.handler = handler;
  }

  public void start() {
    thread = Thread.ofPlatform().daemon().name("pisync-listen-" + channel).start(this::run);
  }

  private void run() {
    long backoff = 500;
    while (!closed) {
      try (Connection c = connections.open()) {
        try (Statement st = c.createStatement()) {
          st.execute("LISTEN " + channel);
        }
        if (closed) return;
        backoff = 500;
        heard();
        handler.listening();
        receive(c, c.unwrap(PGConnection.class));
      } catch (SQLException | RuntimeException e) {
        if (closed) return;
        log.warn(
            "listener of {} lost its connection, retrying in {} ms: {}",
            channel,
            backoff,
            e.toString());
      } finally {
        handler.deaf();
      }
      sleep(backoff);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  private void receive(Connection c, PGConnection pg) throws SQLException {
    while (!closed) {
      PGNotification[] notices = pg.getNotifications(1_000);
      if (notices != null && notices.length > 0) {
        heard();
        for (PGNotification n : notices) {
          handle(n.getParameter());
        }
      } else if (System.nanoTime() - lastHeardNanos > PING_EVERY.toNanos()) {
        try (Statement st = c.createStatement()) {
          st.setQueryTimeout((int) PING_EVERY.toSeconds());
          st.execute("SELECT 1");
        }
        heard();
      }
    }
  }

  /** A notice the handler fails on is treated as missed: the handler catches up as on start. */
  private void handle(String payload) throws SQLException {
    try {
      handler.notice(payload);
    } catch (RuntimeException e) {
      log.warn("handling a notice on {} failed, catching up instead: {}", channel, e.toString());
      handler.listening();
    }
  }

  private void heard() {
    lastHeardNanos = System.nanoTime();
  }

  /**
   * Whether the listening connection answered within the last three pings: one that died silently
   * hears no notice, so what was remembered on the strength of them is not to be trusted.
   */
  public boolean answering() {
    return System.nanoTime() - lastHeardNanos <= PING_EVERY.multipliedBy(3).toNanos();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops listening; waits up to 2 s for the thread to end. */
  @Override
  public void close() {
    closed = true;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}

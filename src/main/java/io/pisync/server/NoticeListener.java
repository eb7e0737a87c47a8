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

  private final String channel;
  private final Connections connections;
  private final Handler handler;
  private volatile boolean closed;
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
        backoff = 500;
        handler.listening();
        receive(c.unwrap(PGConnection.class));
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

  private void receive(PGConnection pg) throws SQLException {
    while (!closed) {
      PGNotification[] notices = pg.getNotifications(1_000);
      if (notices == null) continue;
      for (PGNotification n : notices) {
        handler.notice(n.getParameter());
      }
    }
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

package io.pisync.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remembers what recent credential checks found (a key's device, an account's role), so that a
 * request does not cost a database read. Every change to keys or roles sends a NOTIFY on {@link
 * #CHANNEL} in its transaction; PostgreSQL delivers it at COMMIT to every PiSync instance on the
 * database (and from the command line tools), and each instance then forgets everything. The
 * instance that made the change forgets at once, before answering.
 *
 * <p>Nothing is remembered while the instance is not listening (before the first LISTEN, or after
 * its connection is lost), so a missed notice can never keep a revoked key alive.
 */
public final class CredentialCache implements AutoCloseable {
  public static final String CHANNEL = "pisync_credentials";
  private static final Logger log = LoggerFactory.getLogger(CredentialCache.class);

  /** Opens a database connection of its own (not from the pool) for LISTEN. */
  public interface Connections {
    Connection open() throws SQLException;
  }

  private final Connections connections;
  private final Cache<String, Object> entries;

  /** Bumped by every forget: a lookup that overlapped one does not keep its answer. */
  private final AtomicLong generation = new AtomicLong();

  private volatile boolean listening;
  private volatile boolean closed;
  private Thread listener;

  private CredentialCache(Connections connections, Duration ttl) {
    this.connections = connections;
    this.entries = Caffeine.newBuilder().maximumSize(200_000).expireAfterWrite(ttl).build();
  }

  /** A cache that listens for changes on its own connection; call {@link #start()}. */
  public static CredentialCache listening(Connections connections, Duration ttl) {
    return new CredentialCache(connections, ttl);
  }

  /** Never remembers anything: for the command line tools, which only change credentials. */
  public static CredentialCache off() {
    return new CredentialCache(null, Duration.ofSeconds(1));
  }

  public void start() {
    if (connections == null) return;
    listener = Thread.ofPlatform().daemon().name("pisync-credentials-listen").start(this::listen);
  }

  /** Whether answers are being remembered (the instance is listening for changes). */
  public boolean active() {
    return listening;
  }

  /** The remembered answer for {@code key}, else {@code load}'s, remembered when present. */
  @SuppressWarnings("unchecked")
  <T> Optional<T> get(String key, Supplier<Optional<T>> load) {
    if (listening) {
      Object hit = entries.getIfPresent(key);
      if (hit != null) return Optional.of((T) hit);
    }
    long seen = generation.get();
    Optional<T> loaded = load.get();
    if (loaded.isPresent() && listening && generation.get() == seen) {
      entries.put(key, loaded.get());
      // A change that landed while we stored the answer: forget it again.
      if (generation.get() != seen) entries.invalidate(key);
    }
    return loaded;
  }

  /** Tells every instance, at COMMIT of {@code h}'s transaction, that credentials changed. */
  static void announceChange(Handle h) {
    h.execute("NOTIFY " + CHANNEL);
  }

  /** Forgets everything remembered. */
  void forgetAll() {
    generation.incrementAndGet();
    entries.invalidateAll();
  }

  private void listen() {
    long backoff = 500;
    while (!closed) {
      try (Connection c = connections.open()) {
        try (Statement st = c.createStatement()) {
          st.execute("LISTEN " + CHANNEL);
        }
        backoff = 500;
        forgetAll(); // changes made while not listening were not heard
        listening = true;
        receive(c.unwrap(PGConnection.class));
      } catch (SQLException | RuntimeException e) {
        if (closed) return;
        log.warn(
            "credential change listener lost its connection, retrying in {} ms: {}",
            backoff,
            e.toString());
      } finally {
        listening = false;
        forgetAll();
      }
      sleep(backoff);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  private void receive(PGConnection pg) throws SQLException {
    while (!closed) {
      PGNotification[] notices = pg.getNotifications(1_000);
      if (notices != null && notices.length > 0) forgetAll();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closed = true;
    listening = false;
    forgetAll();
    if (listener != null) {
      listener.interrupt();
      try {
        listener.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}

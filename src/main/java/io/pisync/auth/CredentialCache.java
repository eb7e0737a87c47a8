package io.pisync.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.pisync.server.NoticeListener;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Remembers what recent credential checks found (a key's device, an account's role, an open
 * session), so that a request does not cost a database read. Every change to keys, roles or
 * sessions sends a NOTIFY on {@link #CHANNEL} (database triggers, migration V6, so changes made by
 * any tool or by hand count too); PostgreSQL delivers it at COMMIT to every PiSync instance on the
 * database, and each instance then forgets everything. The instance that made the change forgets at
 * once, before answering.
 *
 * <p>Nothing remembered is used while the instance is not listening (before the first LISTEN, after
 * its connection is lost, or when the connection has not answered a ping for 15 s), so a missed
 * notice can never keep a revoked key alive.
 */
public final class CredentialCache implements AutoCloseable {
  public static final String CHANNEL = "pisync_credentials";

  private final Cache<String, Object> entries;

  /** Bumped by every forget: a lookup that overlapped one does not keep its answer. */
  private final AtomicLong generation = new AtomicLong();

  private final NoticeListener listener;
  private volatile boolean listening;

  private CredentialCache(NoticeListener.Connections connections, Duration ttl) {
    this.entries = Caffeine.newBuilder().maximumSize(200_000).expireAfterWrite(ttl).build();
    this.listener =
        connections == null
            ? null
            : new NoticeListener(
                CHANNEL,
                connections,
                new NoticeListener.Handler() {
                  @Override
                  public void listening() {
                    forgetAll(); // changes made while not listening were not heard
                    listening = true;
                  }

                  @Override
                  public void notice(String payload) {
                    forgetAll();
                  }

                  @Override
                  public void deaf() {
                    listening = false;
                    forgetAll();
                  }
                });
  }

  /** A cache that listens for changes on its own connection; call {@link #start()}. */
  public static CredentialCache listening(NoticeListener.Connections connections, Duration ttl) {
    return new CredentialCache(connections, ttl);
  }

  /** Never remembers anything: for the command line tools, which only change credentials. */
  public static CredentialCache off() {
    return new CredentialCache(null, Duration.ofSeconds(1));
  }

  public void start() {
    if (listener != null) listener.start();
  }

  /** The remembered answer for {@code key}, else {@code load}'s, remembered when present. */
  @SuppressWarnings("unchecked")
  <T> Optional<T> get(String key, Supplier<Optional<T>> load) {
    boolean trusted = trusted();
    if (trusted) {
      Object hit = entries.getIfPresent(key);
      if (hit != null) return Optional.of((T) hit);
    }
    long seen = generation.get();
    Optional<T> loaded = load.get();
    if (loaded.isPresent() && trusted && generation.get() == seen) {
      entries.put(key, loaded.get());
      // A change that landed while we stored the answer: forget it again.
      if (generation.get() != seen) entries.invalidate(key);
    }
    return loaded;
  }

  /**
   * Remembered answers are used only while the listener is up and its connection answered recently:
   * a connection that died silently would hear no change.
   */
  private boolean trusted() {
    return listening && listener.answering();
  }

  /** Forgets everything remembered. */
  void forgetAll() {
    generation.incrementAndGet();
    entries.invalidateAll();
  }

  @Override
  public void close() {
    listening = false;
    if (listener != null) listener.close();
    forgetAll();
  }
}

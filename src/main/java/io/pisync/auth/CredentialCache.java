package io.pisync.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.pisync.server.NoticeListener;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;

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

  @Override
  public void close() {
    listening = false;
    if (listener != null) listener.close();
    forgetAll();
  }
}

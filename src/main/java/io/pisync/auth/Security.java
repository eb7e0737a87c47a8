package io.pisync.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.http.Routes;
import io.pisync.server.Config;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The security feature wired together: keys, accounts, tokens, rate limits and the guard. */
public final class Security implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Security.class);
  public static final String FIRST_ADMIN = "admin";

  /** Bounds the cache's memory; changes are forgotten at once through NOTIFY, not by expiry. */
  private static final java.time.Duration CACHE_TTL = java.time.Duration.ofMinutes(10);

  private final CredentialCache cache;
  private final DeviceKeys keys;
  private final Accounts accounts;
  private final Tokens tokens;
  private final RateLimits limits;
  private final Guard guard;
  private final Config config;
  private final ObjectMapper mapper;
  private final InstantSource clock;

  private static final long CLEAN_EVERY_MINUTES = 5;
  private final ScheduledExecutorService cleaner =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().daemon().name("pisync-auth-clean-up").unstarted(r));

  private Security(
      CredentialCache cache,
      DeviceKeys keys,
      Accounts accounts,
      Tokens tokens,
      RateLimits limits,
      Guard guard,
      Config config,
      ObjectMapper mapper,
      InstantSource clock) {
    this.cache = cache;
    this.keys = keys;
    this.accounts = accounts;
    this.tokens = tokens;
    this.limits = limits;
    this.guard = guard;
    this.config = config;
    this.mapper = mapper;
    this.clock = clock;
  }

  /** Builds everything and makes sure an admin account exists. */
  public static Security start(
      Config config,
      DataSource dataSource,
      io.pisync.server.NoticeListener.Connections listenConnections,
      ObjectMapper mapper,
      InstantSource clock) {
    Config.Security s = config.security();
    Jdbi jdbi = Jdbi.create(dataSource);
    var cache = CredentialCache.listening(listenConnections, CACHE_TTL);
    var keys = new DeviceKeys(jdbi, clock, s.keyGracePeriod(), cache);
    var accounts = new Accounts(jdbi, clock, s.loginMaxFailures(), s.loginLockDuration(), cache);
    var tokens =
        new Tokens(
            jdbi,
            clock,
            Tokens.signingKey(s.jwtSecret(), config.dataDir()),
            s.accessTokenTtl(),
            s.refreshTokenTtl(),
            cache);
    RateLimits limits =
        s.sharedRateLimits() ? RateLimits.shared(dataSource, clock) : RateLimits.inMemory(clock);
    ensureAdmin(accounts, config, System.out);
    cache.start();
    var security =
        new Security(
            cache,
            keys,
            accounts,
            tokens,
            limits,
            new Guard(keys, accounts, tokens, limits, s),
            config,
            mapper,
            clock);
    security.cleaner.scheduleWithFixedDelay(
        security::removeExpiredQuietly, 1, CLEAN_EVERY_MINUTES, TimeUnit.MINUTES);
    return security;
  }

  /** What one clean-up removed. */
  public record Removed(
      int rateLimitBuckets, int refreshTokens, int signInFailures, int endedSessions) {

    int total() {
      return rateLimitBuckets + refreshTokens + signInFailures + endedSessions;
    }
  }

  /**
   * Removes rows that can no longer matter: shared rate-limit buckets that have refilled (one per
   * caller and limit, written on every request), expired refresh tokens (one per sign-in and
   * refresh), forgotten failed sign-ins of names without an account, and sessions ended so long ago
   * that none of their tokens can be valid. Runs every few minutes.
   */
  public Removed removeExpired() {
    return new Removed(
        limits.removeExpired(),
        tokens.removeExpired(),
        accounts.removeForgottenFailures(),
        tokens.removeEndedSessions());
  }

  private void removeExpiredQuietly() {
    try {
      Removed removed = removeExpired();
      if (removed.total() > 0) {
        log.info(
            "removed {} expired rate-limit buckets, {} expired refresh tokens, {} forgotten"
                + " failed sign-ins and {} long-ended sessions",
            removed.rateLimitBuckets(),
            removed.refreshTokens(),
            removed.signInFailures(),
            removed.endedSessions());
      }
    } catch (RuntimeException e) {
      log.warn("could not remove expired rows: {}", e.toString());
    }
  }

  public void register(Routes routes) {
    Config.Security s = config.security();
    new AuthRoutes(
            accounts,
            tokens,
            mapper,
            clock,
            s.loginAddressMaxFailures(),
            s.loginLockDuration(),
            s.loginFailureDelay())
        .register(routes);
    new DeviceKeyRoutes(keys, mapper, s.enrolmentToken()).register(routes);
  }

  public Guard guard() {
    return guard;
  }

  /** Stops listening for credential changes. */
  @Override
  public void close() {
    cleaner.shutdownNow();
    cache.close();
  }

  /**
   * First start on an empty database: creates {@code admin} with PISYNC_ADMIN_PASSWORD, or with a
   * random password printed once to the console (never to the log) and written to a file only its
   * owner can read.
   */
  static void ensureAdmin(Accounts accounts, Config config, PrintStream console) {
    boolean generated = config.security().adminPassword().isEmpty();
    String password =
        config.security().adminPassword().orElseGet(() -> Secrets.generate("").substring(0, 24));
    if (!accounts.createFirstAdmin(FIRST_ADMIN, password)) {
      return;
    }
    if (!generated) {
      log.info("created the first admin account '{}' with PISYNC_ADMIN_PASSWORD", FIRST_ADMIN);
      return;
    }
    Path file = config.dataDir().resolve("admin-password");
    try {
      Files.createDirectories(config.dataDir());
      Files.deleteIfExists(file);
      Files.createFile(file);
      Tokens.ownerOnly(file);
      Files.writeString(file, password + System.lineSeparator());
    } catch (IOException e) {
      log.warn("could not write {}: {}", file, e.getMessage());
    }
    console.printf(
        "%n  PiSync created the first admin account.%n  username: %s%n  password: %s%n"
            + "  (shown once; also in %s, readable only by its owner)%n%n",
        FIRST_ADMIN, password, file.toAbsolutePath());
    log.info("created the first admin account '{}'; its password is in {}", FIRST_ADMIN, file);
  }
}

package io.pisync.server;

import io.pisync.sync.SyncSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Server configuration, read once at startup and immutable afterwards.
 *
 * <p>Each setting comes from the environment variable {@code PISYNC_X_Y}, else from the key {@code
 * x.y} of the config file ({@code PISYNC_CONFIG_FILE}, default {@code ./pisync.properties} when
 * present), else from its default. Every invalid setting is reported at once.
 */
public record Config(
    String host,
    int port,
    Path dataDir,
    Optional<String> dbUrl,
    Optional<String> dbUser,
    Optional<String> dbPassword,
    int embeddedDbPort,
    int dbPoolSize,
    long maxBodyBytes,
    int writerQueueCapacity,
    int writerMaxBatch,
    int writerThreads,
    int writerCommitTimeoutSeconds,
    int maxBatchEvents,
    int clockSkewHours,
    Security security,
    SyncSettings sync) {

  /** Credentials, tokens, rate limits and HTTP hardening. */
  public record Security(
      Optional<String> adminPassword,
      Optional<String> jwtSecret,
      Duration accessTokenTtl,
      Duration refreshTokenTtl,
      Duration keyGracePeriod,
      Optional<String> enrolmentToken,
      Optional<String> metricsToken,
      int deviceRequestsPerMinute,
      int accountRequestsPerMinute,
      int addressRequestsPerMinute,
      boolean sharedRateLimits,
      int loginMaxFailures,
      int loginAddressMaxFailures,
      Duration loginLockDuration,
      Duration loginFailureDelay,
      List<String> corsOrigins,
      List<String> trustedProxies,
      Duration idleTimeout,
      int jsonMaxDepth,
      int jsonMaxTokens) {
    public Security {
      corsOrigins = List.copyOf(corsOrigins);
      trustedProxies = List.copyOf(trustedProxies);
    }
  }

  /** Every setting PiSync reads, with its default ({@code null}: none). */
  public enum Setting {
    HOST("0.0.0.0", "address to listen on"),
    PORT("8080", "HTTP port (0 picks a free one)"),
    DATA_DIR("./pisync-data", "embedded database files"),
    DB_URL(null, "jdbc:postgresql://... of an external PostgreSQL 14+; unset: embedded"),
    DB_USER(null, "user for PISYNC_DB_URL"),
    DB_PASSWORD(null, "password for PISYNC_DB_URL"),
    EMBEDDED_DB_PORT("0", "port of the embedded PostgreSQL (0 picks a free one)"),
    DB_POOL_SIZE("16", "database connections"),
    MAX_BODY_BYTES("1048576", "largest request body accepted"),
    WRITER_QUEUE_CAPACITY("20000", "single events waiting for the group-commit writer"),
    WRITER_MAX_BATCH("1000", "most events the writer commits in one transaction"),
    WRITER_THREADS("1", "group-commit writer threads (each with its own transaction)"),
    WRITER_COMMIT_TIMEOUT_SECONDS(
        "30", "seconds a single event may wait for its COMMIT before it is answered 503"),
    MAX_BATCH_EVENTS("1000", "most events in one batch upload"),
    CLOCK_SKEW_HOURS("24", "how far ahead of server time a device timestamp may be"),
    ADMIN_PASSWORD(null, "password of the first admin account; unset: random, printed once"),
    JWT_SECRET(null, "base64 key (32+ bytes) signing access tokens; unset: kept in DATA_DIR"),
    ACCESS_TOKEN_MINUTES("15", "lifetime of an access token"),
    REFRESH_TOKEN_DAYS("30", "lifetime of a refresh token"),
    KEY_GRACE_HOURS("24", "how long a device's old key still works after rotation"),
    ENROLMENT_TOKEN(null, "fleet token devices present to enrol themselves; unset: off"),
    METRICS_TOKEN(null, "bearer token /metrics requires; unset: open"),
    RATE_DEVICE_PER_MINUTE("600", "requests per minute per device key"),
    RATE_ACCOUNT_PER_MINUTE("600", "requests per minute per signed-in account"),
    RATE_ADDRESS_PER_MINUTE("60", "requests per minute per address without credentials"),
    RATE_LIMITS_SHARED("false", "keep rate limits in PostgreSQL, shared by all instances"),
    LOGIN_MAX_FAILURES(
        "5", "failed sign-ins that lock a username (whether or not an account has it)"),
    LOGIN_ADDRESS_MAX_FAILURES("20", "failed sign-ins that lock a client address"),
    LOGIN_LOCK_MINUTES("15", "how long a lock lasts"),
    LOGIN_FAILURE_DELAY_MS("250", "extra delay per recent failed sign-in (at most 8 of them)"),
    CORS_ORIGINS("", "comma-separated origins allowed by CORS; empty: none"),
    TRUSTED_PROXIES(
        "",
        "comma-separated addresses or ranges (10.0.0.0/8) of reverse proxies whose"
            + " X-Forwarded-For names the client; empty: the connection's address is the client"),
    IDLE_TIMEOUT_SECONDS("30", "connections idle this long are closed"),
    JSON_MAX_DEPTH("32", "deepest JSON nesting accepted"),
    JSON_MAX_TOKENS("200000", "most JSON tokens (fields, values) in one body"),
    SYNC_TOMBSTONE_RETENTION_DAYS(
        "30",
        "days deleted records are kept for devices to pull (a device that missed a deletion"
            + " purged since gets 410 and resyncs)"),
    SYNC_MUTATION_RETENTION_DAYS(
        "90", "days pushed mutation ids are remembered, so a replay is answered as a duplicate"),
    SYNC_MAX_PUSH_MUTATIONS("1000", "most mutations in one push"),
    SYNC_STREAM_HEARTBEAT_SECONDS("15", "how often an idle sync stream sends a heartbeat"),
    SYNC_MAX_STREAMS("10000", "most sync streams open at once (more: 503)");

    final String defaultValue;
    final String description;

    Setting(String defaultValue, String description) {
      this.defaultValue = defaultValue;
      this.description = description;
    }

    public String envName() {
      return "PISYNC_" + name();
    }

    public String fileKey() {
      return name().toLowerCase(Locale.ROOT).replace('_', '.');
    }

    public String defaultValue() {
      return defaultValue;
    }

    public String description() {
      return description;
    }
  }

  /** Thrown when configuration is invalid; lists every problem found. */
  public static final class InvalidConfigException extends RuntimeException {
    private final List<String> problems;

    InvalidConfigException(List<String> problems) {
      super("Invalid configuration:\n  - " + String.join("\n  - ", problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  public boolean embedded() {
    return dbUrl.isEmpty();
  }

  /** Reads the process environment and the config file. */
  public static Config fromEnvironment() {
    return load(System.getenv());
  }

  /** Reads settings from the given environment (and the config file it names). */
  public static Config load(Map<String, String> env) {
    List<String> problems = new ArrayList<>();
    Map<Setting, String> raw = resolve(env, problems);
    var reader = new Reader(raw, problems);
    var config =
        new Config(
            reader.text(Setting.HOST),
            reader.integer(Setting.PORT, 0, 65535),
            Path.of(reader.text(Setting.DATA_DIR)),
            reader.optional(Setting.DB_URL),
            reader.optional(Setting.DB_USER),
            reader.optional(Setting.DB_PASSWORD),
            reader.integer(Setting.EMBEDDED_DB_PORT, 0, 65535),
            reader.integer(Setting.DB_POOL_SIZE, 2, 500),
            reader.integer(Setting.MAX_BODY_BYTES, 1024, 256 * 1024 * 1024),
            reader.integer(Setting.WRITER_QUEUE_CAPACITY, 1, 10_000_000),
            reader.integer(Setting.WRITER_MAX_BATCH, 1, 100_000),
            reader.integer(Setting.WRITER_THREADS, 1, 64),
            reader.integer(Setting.WRITER_COMMIT_TIMEOUT_SECONDS, 1, 3600),
            reader.integer(Setting.MAX_BATCH_EVENTS, 1, 100_000),
            reader.integer(Setting.CLOCK_SKEW_HOURS, 0, 24 * 366),
            security(reader),
            sync(reader));
    config.dbUrl.ifPresent(url -> checkDbUrl(url, problems));
    checkCredentialsNeedUrl(config, problems);
    checkHeartbeat(config, problems);
    checkUnknownVariables(env, problems);
    if (!problems.isEmpty()) {
      throw new InvalidConfigException(problems);
    }
    return config;
  }

  private static Security security(Reader reader) {
    return new Security(
        reader.optional(Setting.ADMIN_PASSWORD),
        reader.secret(Setting.JWT_SECRET),
        Duration.ofMinutes(reader.integer(Setting.ACCESS_TOKEN_MINUTES, 1, 24 * 60)),
        Duration.ofDays(reader.integer(Setting.REFRESH_TOKEN_DAYS, 1, 366)),
        Duration.ofHours(reader.integer(Setting.KEY_GRACE_HOURS, 0, 24 * 90)),
        reader.optional(Setting.ENROLMENT_TOKEN),
        reader.optional(Setting.METRICS_TOKEN),
        reader.integer(Setting.RATE_DEVICE_PER_MINUTE, 1, 10_000_000),
        reader.integer(Setting.RATE_ACCOUNT_PER_MINUTE, 1, 10_000_000),
        reader.integer(Setting.RATE_ADDRESS_PER_MINUTE, 1, 10_000_000),
        reader.bool(Setting.RATE_LIMITS_SHARED),
        reader.integer(Setting.LOGIN_MAX_FAILURES, 1, 1000),
        reader.integer(Setting.LOGIN_ADDRESS_MAX_FAILURES, 1, 100_000),
        Duration.ofMinutes(reader.integer(Setting.LOGIN_LOCK_MINUTES, 1, 24 * 60)),
        Duration.ofMillis(reader.integer(Setting.LOGIN_FAILURE_DELAY_MS, 0, 10_000)),
        reader.list(Setting.CORS_ORIGINS),
        reader.addresses(Setting.TRUSTED_PROXIES),
        Duration.ofSeconds(reader.integer(Setting.IDLE_TIMEOUT_SECONDS, 1, 3600)),
        reader.integer(Setting.JSON_MAX_DEPTH, 2, 1000),
        reader.integer(Setting.JSON_MAX_TOKENS, 100, 100_000_000));
  }

  /**
   * Record sync. Mutation ids must be remembered at least as long as cursors are followed: a device
   * may replay a push for as long as its cursor is good.
   */
  private static SyncSettings sync(Reader reader) {
    int tombstoneDays = reader.integer(Setting.SYNC_TOMBSTONE_RETENTION_DAYS, 1, 3650);
    int mutationDays = reader.integer(Setting.SYNC_MUTATION_RETENTION_DAYS, 1, 3650);
    if (mutationDays < tombstoneDays) {
      reader
          .problems()
          .add(
              "PISYNC_SYNC_MUTATION_RETENTION_DAYS ("
                  + mutationDays
                  + ") must be at least PISYNC_SYNC_TOMBSTONE_RETENTION_DAYS ("
                  + tombstoneDays
                  + "): a device may replay a push for as long as its cursor is followed");
    }
    int maxPush = reader.integer(Setting.SYNC_MAX_PUSH_MUTATIONS, 1, 10_000);
    int heartbeat = reader.integer(Setting.SYNC_STREAM_HEARTBEAT_SECONDS, 1, 300);
    int maxStreams = reader.integer(Setting.SYNC_MAX_STREAMS, 0, 1_000_000);
    try {
      return new SyncSettings(tombstoneDays, mutationDays, maxPush, heartbeat, maxStreams);
    } catch (IllegalArgumentException alreadyReported) {
      return null; // load() throws with the problems found above
    }
  }

  /** An idle stream must send something before the connection's idle timeout closes it. */
  private static void checkHeartbeat(Config config, List<String> problems) {
    if (config.sync() != null
        && config.security() != null
        && config.sync().streamHeartbeatSeconds() >= config.security().idleTimeout().toSeconds()) {
      problems.add(
          "PISYNC_SYNC_STREAM_HEARTBEAT_SECONDS ("
              + config.sync().streamHeartbeatSeconds()
              + ") must be below PISYNC_IDLE_TIMEOUT_SECONDS ("
              + config.security().idleTimeout().toSeconds()
              + "), or idle sync streams are cut");
    }
  }

  private static void checkDbUrl(String url, List<String> problems) {
    if (!url.startsWith("jdbc:postgresql://")) {
      problems.add(
          "PISYNC_DB_URL must start with jdbc:postgresql:// (got '" + redactUrl(url) + "')");
    }
  }

  /** Variables read elsewhere: by the launcher script, by logback. */
  private static final java.util.Set<String> OTHER_VARIABLES =
      java.util.Set.of("PISYNC_CONFIG_FILE", "PISYNC_LOG_LEVEL", "PISYNC_JAVA_OPTS");

  private static void checkCredentialsNeedUrl(Config config, List<String> problems) {
    if (config.embedded() && (config.dbUser.isPresent() || config.dbPassword.isPresent())) {
      problems.add(
          "PISYNC_DB_USER/PISYNC_DB_PASSWORD are set but PISYNC_DB_URL is not: set the URL of"
              + " the external PostgreSQL, or unset them to use the embedded one");
    }
  }

  /** A misspelt variable would otherwise be ignored silently and its default used. */
  private static void checkUnknownVariables(Map<String, String> env, List<String> problems) {
    for (String name : env.keySet()) {
      if (!name.startsWith("PISYNC_") || OTHER_VARIABLES.contains(name)) {
        continue;
      }
      boolean known =
          java.util.Arrays.stream(Setting.values()).anyMatch(s -> s.envName().equals(name));
      if (!known) {
        problems.add(
            "unknown setting "
                + name
                + " (known: "
                + String.join(
                    ", ", java.util.Arrays.stream(Setting.values()).map(Setting::envName).toList())
                + ")");
      }
    }
  }

  private static String redactUrl(String url) {
    return url.replaceAll("password=[^&]*", "password=***");
  }

  private static Map<Setting, String> resolve(Map<String, String> env, List<String> problems) {
    Properties file = readConfigFile(env, problems);
    Map<Setting, String> raw = new HashMap<>();
    for (Setting s : Setting.values()) {
      String value = env.get(s.envName());
      if (value == null || value.isBlank()) {
        value = file.getProperty(s.fileKey());
      }
      if (value == null || value.isBlank()) {
        value = s.defaultValue;
      }
      if (value != null) {
        raw.put(s, value.strip());
      }
    }
    return raw;
  }

  private static Properties readConfigFile(Map<String, String> env, List<String> problems) {
    Properties props = new Properties();
    String named = env.get("PISYNC_CONFIG_FILE");
    Path path = Path.of(named == null || named.isBlank() ? "pisync.properties" : named);
    if (!Files.exists(path)) {
      if (named != null && !named.isBlank()) {
        problems.add("PISYNC_CONFIG_FILE names " + path + ", which does not exist");
      }
      return props;
    }
    try (java.io.Reader in = Files.newBufferedReader(path)) {
      props.load(in);
    } catch (IOException | IllegalArgumentException e) {
      problems.add("cannot read config file " + path + ": " + e.getMessage());
    }
    return props;
  }

  /** Converts raw strings, collecting a problem per bad value instead of stopping at the first. */
  private record Reader(Map<Setting, String> raw, List<String> problems) {
    String text(Setting s) {
      return raw.get(s);
    }

    Optional<String> optional(Setting s) {
      return Optional.ofNullable(raw.get(s));
    }

    /** A base64 key of at least 32 bytes; the value itself never appears in a message. */
    Optional<String> secret(Setting s) {
      Optional<String> value = optional(s);
      value.ifPresent(text -> {
        try {
          if (java.util.Base64.getDecoder().decode(text).length < 32) {
            problems.add(s.envName() + " must decode to at least 32 bytes");
          }
        } catch (IllegalArgumentException e) {
          problems.add(s.envName() + " must be base64 (e.g. openssl rand -base64 32)");
        }
      });
      return value;
    }

    boolean bool(Setting s) {
      String value = raw.get(s);
      return switch (value.toLowerCase(Locale.ROOT)) {
        case "true", "yes", "on", "1" -> true;
        case "false", "no", "off", "0" -> false;
        default -> {
          problems.add(s.envName() + " must be true or false (got '" + value + "')");
          yield false;
        }
      };
    }

    /** Addresses or CIDR ranges, each checked to be a literal (never a host name to look up). */
    List<String> addresses(Setting s) {
      List<String> values = list(s);
      for (String value : values) {
        if (!io.pisync.http.ClientAddress.isAddressOrRange(value)) {
          problems.add(
              s.envName()
                  + " must list IP addresses or ranges such as 10.0.0.0/8 (got '"
                  + value
                  + "')");
        }
      }
      return values;
    }

    List<String> list(Setting s) {
      String value = raw.get(s);
      if (value == null) return List.of();
      return java.util.Arrays.stream(value.split(","))
          .map(String::strip)
          .filter(v -> !v.isEmpty())
          .toList();
    }

    int integer(Setting s, int min, int max) {
      String value = raw.get(s);
      try {
        int parsed = Integer.parseInt(value);
        if (parsed < min || parsed > max) {
          problems.add(
              s.envName() + " must be between " + min + " and " + max + " (got " + value + ")");
        }
        return parsed;
      } catch (NumberFormatException e) {
        problems.add(s.envName() + " must be a whole number (got '" + value + "')");
        return Integer.parseInt(s.defaultValue);
      }
    }
  }
}

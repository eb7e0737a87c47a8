package io.pisync.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.jdbc.PrimaryKeyMapper;
import io.github.bucket4j.postgresql.Bucket4jPostgreSQL;
import io.github.bucket4j.postgresql.PostgreSQLSelectForUpdateBasedProxyManager;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import javax.sql.DataSource;

/**
 * Token buckets (Bucket4j) per caller: each allows {@code perMinute} requests in a burst and
 * refills at that rate. Kept in memory, or in PostgreSQL so several instances share them.
 */
public final class RateLimits {
  private static final Duration WINDOW = Duration.ofMinutes(1);

  private final TimeMeter time;
  private final Cache<String, Bucket> local;
  private final PostgreSQLSelectForUpdateBasedProxyManager<String> shared;

  private RateLimits(
      TimeMeter time,
      Cache<String, Bucket> local,
      PostgreSQLSelectForUpdateBasedProxyManager<String> shared) {
    this.time = time;
    this.local = local;
    this.shared = shared;
  }

  /** Buckets in this process only. */
  public static RateLimits inMemory(InstantSource clock) {
    Cache<String, Bucket> cache =
        Caffeine.newBuilder()
            .expireAfterAccess(Duration.ofMinutes(10))
            .maximumSize(1_000_000)
            .build();
    return new RateLimits(meter(clock), cache, null);
  }

  /** Buckets in the table {@code rate_limit_buckets}, shared by every instance on the database. */
  public static RateLimits shared(DataSource dataSource, InstantSource clock) {
    TimeMeter time = meter(clock);
    var proxy =
        Bucket4jPostgreSQL.selectForUpdateBasedBuilder(dataSource)
            .primaryKeyMapper(PrimaryKeyMapper.STRING)
            .table("rate_limit_buckets")
            .clientClock(time)
            .expirationAfterWrite(
                ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(
                    Duration.ofMinutes(1)))
            .build();
    return new RateLimits(time, null, proxy);
  }

  /** What a request may do under its limit, and the numbers for the RateLimit-* headers. */
  public record Verdict(boolean allowed, long limit, long remaining, long resetSeconds) {
    /** Seconds until one more request is allowed. */
    public long retryAfterSeconds() {
      return Math.max(1, resetSeconds);
    }
  }

  /** Takes one request from the bucket named {@code key}, which allows {@code perMinute}. */
  public Verdict take(String key, int perMinute) {
    String bucketKey = key + "/" + perMinute;
    ConsumptionProbe probe =
        shared != null
            ? shared
                .getProxy(bucketKey, () -> configuration(perMinute))
                .tryConsumeAndReturnRemaining(1)
            : local
                .get(
                    bucketKey,
                    k ->
                        Bucket.builder()
                            .addLimit(l -> l.capacity(perMinute).refillGreedy(perMinute, WINDOW))
                            .withCustomTimePrecision(time)
                            .build())
                .tryConsumeAndReturnRemaining(1);
    long nanos =
        probe.isConsumed() ? probe.getNanosToWaitForReset() : probe.getNanosToWaitForRefill();
    return new Verdict(
        probe.isConsumed(),
        perMinute,
        probe.getRemainingTokens(),
        Math.ceilDiv(nanos, 1_000_000_000L));
  }

  /**
   * Drops every expired shared bucket, a thousand rows per statement; a no-op in memory (the cache
   * expires its own). A bucket expires a minute after it would have refilled. (Bucket4j dates
   * expiry by the system clock, not the one it is given, so this runs on the system clock.)
   */
  int removeExpired() {
    if (shared == null) return 0;
    int removed = 0;
    int last;
    do {
      last = shared.removeExpired(REMOVE_PER_STATEMENT);
      removed += last;
    } while (last >= REMOVE_PER_STATEMENT);
    return removed;
  }

  private static final int REMOVE_PER_STATEMENT = 1000;

  private static BucketConfiguration configuration(int perMinute) {
    return BucketConfiguration.builder()
        .addLimit(l -> l.capacity(perMinute).refillGreedy(perMinute, WINDOW))
        .build();
  }

  private static TimeMeter meter(InstantSource clock) {
    return new TimeMeter() {
      @Override
      public long currentTimeNanos() {
        Instant now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
      }

      @Override
      public boolean isWallClockBased() {
        return true;
      }
    };
  }
}

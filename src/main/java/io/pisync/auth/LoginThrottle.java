package io.pisync.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;

/**
 * Failed sign-ins per client address: each one slows the next answer down, and too many lock the
 * address for a while (accounts have their own lock in {@link Accounts}). Kept in memory.
 */
final class LoginThrottle {
  private static final int MAX_DELAY_STEPS = 8;

  private record Failures(int count, Instant lockedUntil) {}

  private final Cache<String, Failures> byAddress;
  private final InstantSource clock;
  private final int maxFailures;
  private final Duration lockDuration;
  private final Duration delayStep;

  LoginThrottle(InstantSource clock, int maxFailures, Duration lockDuration, Duration delayStep) {
    this.clock = clock;
    this.maxFailures = maxFailures;
    this.lockDuration = lockDuration;
    this.delayStep = delayStep;
    this.byAddress =
        Caffeine.newBuilder()
            .expireAfterWrite(lockDuration.plus(Duration.ofMinutes(15)))
            .maximumSize(100_000)
            .build();
  }

  /** Until when the address is locked, if it is. */
  Optional<Instant> lockedUntil(String address) {
    Failures f = byAddress.getIfPresent(address);
    if (f == null || f.lockedUntil() == null || !f.lockedUntil().isAfter(clock.instant())) {
      return Optional.empty();
    }
    return Optional.of(f.lockedUntil());
  }

  /** Counts a failure and waits a little longer for each recent one. */
  void failed(String address) throws InterruptedException {
    Instant now = clock.instant();
    Failures after =
        byAddress
            .asMap()
            .compute(
                address,
                (k, f) -> {
                  // Another failure that raced past the lock check must not lift the lock.
                  if (f != null && f.lockedUntil() != null && f.lockedUntil().isAfter(now)) {
                    return f;
                  }
                  int count = (f == null || f.lockedUntil() != null ? 0 : f.count()) + 1;
                  return count >= maxFailures
                      ? new Failures(0, now.plus(lockDuration))
                      : new Failures(count, null);
                });
    int steps =
        after.lockedUntil() != null ? MAX_DELAY_STEPS : Math.min(after.count(), MAX_DELAY_STEPS);
    if (!delayStep.isZero()) {
      Thread.sleep(delayStep.multipliedBy(steps));
    }
  }

  void succeeded(String address) {
    byAddress.asMap().computeIfPresent(address, (k, f) -> f.lockedUntil() != null ? f : null);
  }
}

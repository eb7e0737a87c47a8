package io.pisync.support;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;

/** Real time shifted by an offset that a test can move, so time passes without sleeping. */
public final class TestClock implements InstantSource {
  private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);

  @Override
  public Instant instant() {
    return Instant.now().plus(offset.get());
  }

  public void advance(Duration by) {
    offset.updateAndGet(o -> o.plus(by));
  }
}

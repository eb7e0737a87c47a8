package io.pisync.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Times written for PostgreSQL read back as the same instant (events must not shift). */
class CopyTimestampTest {
  private static final DateTimeFormatter POSTGRES =
      new DateTimeFormatterBuilder()
          .appendPattern("yyyy-MM-dd HH:mm:ss")
          .optionalStart()
          .appendFraction(java.time.temporal.ChronoField.NANO_OF_SECOND, 1, 9, true)
          .optionalEnd()
          .appendOffset("+HH", "+00")
          .toFormatter();

  @Test
  void writesTheSameInstantItWasGiven() {
    var random = new SplittableRandom(3);
    for (int n = 0; n < 50_000; n++) {
      Instant t =
          Instant.ofEpochSecond(
              random.nextLong(
                  Instant.parse("1970-01-01T00:00:00Z").getEpochSecond(),
                  Instant.parse("9999-12-31T23:59:59Z").getEpochSecond()),
              random.nextBoolean() ? 0 : random.nextInt(1_000_000) * 1_000);
      String text = EventCopy.timestampText(t);
      assertThat(OffsetDateTime.parse(text, POSTGRES).toInstant()).as(text).isEqualTo(t);
    }
    assertThat(EventCopy.timestampText(Instant.parse("2025-06-01T05:00:00.000100Z")))
        .isEqualTo("2025-06-01 05:00:00.000100000+00");
  }
}

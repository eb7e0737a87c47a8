package io.pisync.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The quick reader of the common timestamp shape must never accept what the ISO formatter refuses,
 * nor read a different time: devices would see a changed validation rule or a shifted event.
 */
class TimestampParsingTest {
  private static final String NOISE = "0123456789TtZz+-:. ";

  @Test
  void readsWhatTheIsoFormatterReadsAndNothingElse() {
    var random = new SplittableRandom(11);
    int quick = 0;
    for (int n = 0; n < 100_000; n++) {
      String text = mutate(random, sample(random));
      Instant expected = formatter(text);
      Instant actual = EventParser.commonIsoOffset(text);
      if (actual != null) {
        quick++;
        assertThat(actual).as(text).isEqualTo(expected);
      }
    }
    assertThat(quick).as("the common shape is read quickly").isGreaterThan(20_000);
  }

  @Test
  void edgeCasesAgree() {
    for (String text :
        new String[] {
          "2025-06-01T10:30:00Z",
          "2025-06-01t10:30:00z",
          "2025-06-01T10:30:00.123456789+05:30",
          "2025-06-01T10:30:00.1234567890+05:30",
          "2025-06-01T10:30:00-00:00",
          "2025-06-01T10:30:00+18:00",
          "2025-06-01T10:30:00+18:01",
          "2025-02-29T10:30:00Z",
          "2024-02-29T10:30:00Z",
          "2025-06-31T10:30:00Z",
          "2025-06-01T24:00:00Z",
          "2025-06-01T23:59:60Z",
          "2025-06-01T10:30Z",
          "2025-06-01T10:30:00.Z",
          "2025-06-01T10:30:00+0530",
          "2025-06-01T10:30:00+05:30:00",
          "2025-06-01 10:30:00Z",
          "0000-01-01T00:00:00Z"
        }) {
      Instant quick = EventParser.commonIsoOffset(text);
      if (quick != null) {
        assertThat(quick).as(text).isEqualTo(formatter(text));
      }
    }
    assertThat(EventParser.commonIsoOffset("2025-06-01T10:30:00.5+05:30"))
        .isEqualTo(Instant.parse("2025-06-01T05:00:00.5Z"));
  }

  private static Instant formatter(String text) {
    try {
      return OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** A timestamp of the common shape, fields sometimes out of range. */
  private static String sample(SplittableRandom r) {
    String fraction =
        switch (r.nextInt(4)) {
          case 0 -> "";
          case 1 -> "." + digits(r, 3);
          case 2 -> "." + digits(r, r.nextInt(1, 11));
          default -> "." + digits(r, 6);
        };
    String offset =
        switch (r.nextInt(4)) {
          case 0 -> "Z";
          case 1 -> "z";
          default ->
              (r.nextBoolean() ? "+" : "-")
                  + String.format("%02d:%02d", r.nextInt(0, 20), r.nextInt(0, 61));
        };
    return String.format(
            "%04d-%02d-%02dT%02d:%02d:%02d",
            r.nextInt(0, 10_000),
            r.nextInt(0, 14),
            r.nextInt(0, 33),
            r.nextInt(0, 25),
            r.nextInt(0, 61),
            r.nextInt(0, 61))
        + fraction
        + offset;
  }

  /** Half the samples are left alone; the others get a character changed, dropped or added. */
  private static String mutate(SplittableRandom r, String text) {
    if (r.nextBoolean()) return text;
    var b = new StringBuilder(text);
    int at = r.nextInt(b.length());
    char c = NOISE.charAt(r.nextInt(NOISE.length()));
    switch (r.nextInt(3)) {
      case 0 -> b.setCharAt(at, c);
      case 1 -> b.deleteCharAt(at);
      default -> b.insert(at, c);
    }
    return b.toString();
  }

  private static String digits(SplittableRandom r, int count) {
    var b = new StringBuilder();
    for (int i = 0; i < count; i++) b.append((char) ('0' + r.nextInt(10)));
    return b.toString();
  }
}

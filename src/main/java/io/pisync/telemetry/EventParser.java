package io.pisync.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pisync.http.FieldError;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Turns a JSON object into a {@link SyncEvent}, or into the list of every invalid field.
 *
 * <p>{@link Mode#STRICT} is the v1 API. {@link Mode#FIELD} is for devices built for the earlier
 * APIs: it also takes numbers as strings ({@code "43"}), timestamps with a space instead of {@code
 * T} ({@code 2025-06-01 10:30:00+05:30}) and contract A's {@code sync_duration} (seconds) and
 * {@code error_details}; it is as strict as v1 about everything else.
 */
public final class EventParser {
  public enum Mode {
    STRICT,
    FIELD
  }

  /** The parse result: a valid event or the reasons it is not. */
  public sealed interface Parsed {
    record Valid(SyncEvent event) implements Parsed {}

    record Invalid(List<FieldError> errors) implements Parsed {}
  }

  private static final Set<String> V1_FIELDS =
      Set.of(
          "event_id",
          "device_id",
          "timestamp",
          "total_files_synced",
          "total_errors",
          "internet_speed",
          "duration_ms",
          "bytes_synced",
          "error_message",
          "app_version");
  private static final Set<String> FIELD_ALIASES = Set.of("sync_duration", "error_details");
  private static final Pattern INTEGER_TEXT = Pattern.compile("[+-]?\\d{1,19}");
  private static final Pattern DECIMAL_TEXT = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)");
  private static final Instant EARLIEST = Instant.parse("2000-01-01T00:00:00Z");

  /** ISO-8601 with an offset, and the field form with a space and +HH:MM, +HHMM, +HH or Z. */
  private static final DateTimeFormatter FIELD_TIMESTAMP =
      new DateTimeFormatterBuilder()
          .parseCaseInsensitive()
          .append(DateTimeFormatter.ISO_LOCAL_DATE)
          .optionalStart()
          .appendLiteral('T')
          .optionalEnd()
          .optionalStart()
          .appendLiteral(' ')
          .optionalEnd()
          .appendValue(ChronoField.HOUR_OF_DAY, 2)
          .appendLiteral(':')
          .appendValue(ChronoField.MINUTE_OF_HOUR, 2)
          .optionalStart()
          .appendLiteral(':')
          .appendValue(ChronoField.SECOND_OF_MINUTE, 2)
          .optionalStart()
          .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
          .optionalEnd()
          .optionalEnd()
          .optionalStart()
          .appendLiteral(' ')
          .optionalEnd()
          // Lenient offsets: +05:30, +0530 and +05 all parse; Z too.
          .parseLenient()
          .appendOffset("+HH", "Z")
          .parseStrict()
          .toFormatter()
          // SMART would make 2025-02-30 the 28th and 24:00 the next day
          .withResolverStyle(ResolverStyle.STRICT);

  /**
   * The common shape of ISO_OFFSET_DATE_TIME, {@code 2025-06-01T10:30:00[.f{1,9}](Z|+05:30)}, read
   * field by field; null for anything else (or out of range), which the formatter then decides.
   * DateTimeFormatter cost a fifth of the batch path's CPU.
   */
  static Instant commonIsoOffset(String text) {
    int n = text.length();
    if (n < 20
        || text.charAt(4) != '-'
        || text.charAt(7) != '-'
        || (text.charAt(10) != 'T' && text.charAt(10) != 't')
        || text.charAt(13) != ':'
        || text.charAt(16) != ':') {
      return null;
    }
    int year = digits(text, 0, 4);
    int month = digits(text, 5, 2);
    int day = digits(text, 8, 2);
    int hour = digits(text, 11, 2);
    int minute = digits(text, 14, 2);
    int second = digits(text, 17, 2);
    if ((year | month | day | hour | minute | second) < 0) return null;
    int i = 19;
    int nanos = 0;
    if (text.charAt(i) == '.') {
      int start = ++i;
      while (i < n && i - start < 9 && isDigit(text.charAt(i))) {
        nanos = nanos * 10 + (text.charAt(i) - '0');
        i++;
      }
      if (i == start) return null;
      for (int k = i - start; k < 9; k++) nanos *= 10;
    }
    if (i >= n) return null;
    ZoneOffset offset;
    char sign = text.charAt(i);
    try {
      if ((sign == 'Z' || sign == 'z') && i + 1 == n) {
        offset = ZoneOffset.UTC;
      } else if ((sign == '+' || sign == '-') && i + 6 == n && text.charAt(i + 3) == ':') {
        int hours = digits(text, i + 1, 2);
        int minutes = digits(text, i + 4, 2);
        if ((hours | minutes) < 0) return null;
        offset =
            sign == '+'
                ? ZoneOffset.ofHoursMinutes(hours, minutes)
                : ZoneOffset.ofHoursMinutes(-hours, -minutes);
      } else {
        return null;
      }
      return OffsetDateTime.of(year, month, day, hour, minute, second, nanos, offset).toInstant();
    } catch (java.time.DateTimeException e) {
      return null;
    }
  }

  /** The number written by {@code count} ASCII digits at {@code from}, or -1. */
  private static int digits(String text, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = text.charAt(i);
      if (!isDigit(c)) return -1;
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private final Mode mode;
  private final InstantSource clock;
  private final Duration maxClockSkew;

  public EventParser(Mode mode, InstantSource clock, Duration maxClockSkew) {
    this.mode = mode;
    this.clock = clock;
    this.maxClockSkew = maxClockSkew;
  }

  public Parsed parse(JsonNode node) {
    if (node == null || !node.isObject()) {
      return new Parsed.Invalid(
          List.of(new FieldError("", describe(node), "must be a JSON object")));
    }
    var reader = new FieldReader((ObjectNode) node);
    reader.rejectUnknownFields();
    UUID eventId = reader.uuid("event_id");
    String deviceId = reader.deviceId();
    Instant timestamp = reader.timestamp();
    Integer files = reader.integer("total_files_synced", true, Integer.MAX_VALUE);
    Integer errors = reader.integer("total_errors", true, Integer.MAX_VALUE);
    Double speed = reader.speed();
    Long durationMs = reader.durationMs();
    Long bytes = reader.longValue("bytes_synced");
    String errorMessage = reader.errorMessage();
    String appVersion = reader.text("app_version", SyncEvent.MAX_APP_VERSION);
    if (!reader.errors.isEmpty()) {
      return new Parsed.Invalid(List.copyOf(reader.errors));
    }
    return new Parsed.Valid(
        new SyncEvent(
            eventId,
            deviceId,
            timestamp,
            files,
            errors,
            speed,
            durationMs,
            bytes,
            errorMessage,
            appVersion));
  }

  private static Object describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return null;
    }
    if (node.isTextual()) {
      String text = node.textValue();
      return text.length() <= 200 ? text : text.substring(0, 200) + "...";
    }
    if (node.isNumber()) {
      return node.numberValue();
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    if (node.isNull()) {
      return null;
    }
    return node.isArray() ? "(array)" : "(object)";
  }

  /** Reads one object's fields, collecting an error per bad field. */
  private final class FieldReader {
    private final ObjectNode node;
    private final List<FieldError> errors = new ArrayList<>();

    FieldReader(ObjectNode node) {
      this.node = node;
    }

    void rejectUnknownFields() {
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        boolean known =
            V1_FIELDS.contains(name) || (mode == Mode.FIELD && FIELD_ALIASES.contains(name));
        if (!known) {
          errors.add(new FieldError(name, describe(node.get(name)), "unknown field"));
        }
      }
    }

    private JsonNode present(String field) {
      JsonNode value = node.get(field);
      return value == null || value.isNull() ? null : value;
    }

    private void fail(String field, JsonNode value, String message) {
      errors.add(new FieldError(field, describe(value), message));
    }

    private JsonNode required(String field) {
      JsonNode value = present(field);
      if (value == null) {
        fail(field, null, "is required");
      }
      return value;
    }

    UUID uuid(String field) {
      JsonNode value = present(field);
      if (value == null) {
        return null;
      }
      if (value.isTextual()) {
        try {
          String text = value.textValue();
          if (text.length() == 36) {
            return UUID.fromString(text);
          }
        } catch (IllegalArgumentException ignored) {
          // reported below
        }
      }
      fail(field, value, "must be a UUID such as 123e4567-e89b-12d3-a456-426614174000");
      return null;
    }

    String deviceId() {
      JsonNode value = required("device_id");
      if (value == null) {
        return null;
      }
      if (!value.isTextual() || !SyncEvent.isDeviceId(value.textValue())) {
        fail("device_id", value, SyncEvent.DEVICE_ID_RULE);
        return null;
      }
      String reserved = SyncEvent.reservedDeviceIdReason(value.textValue());
      if (reserved != null) {
        fail("device_id", value, reserved);
        return null;
      }
      return value.textValue();
    }

    Instant timestamp() {
      JsonNode value = required("timestamp");
      if (value == null) {
        return null;
      }
      if (!value.isTextual()) {
        fail("timestamp", value, "must be an ISO-8601 time with offset, e.g. 2025-06-01T10:30:00Z");
        return null;
      }
      Instant instant;
      try {
        instant = parseTime(value.textValue().strip());
      } catch (DateTimeParseException e) {
        fail(
            "timestamp",
            value,
            "must be an ISO-8601 time with offset, e.g. 2025-06-01T10:30:00+05:30");
        return null;
      }
      return checkRange(value, instant.truncatedTo(java.time.temporal.ChronoUnit.MICROS));
    }

    private Instant parseTime(String text) {
      if (mode == Mode.STRICT) {
        Instant quick = commonIsoOffset(text);
        return quick != null
            ? quick
            : OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
      }
      return OffsetDateTime.parse(text, FIELD_TIMESTAMP).toInstant();
    }

    private Instant checkRange(JsonNode value, Instant instant) {
      Instant latest = clock.instant().plus(maxClockSkew);
      if (instant.isBefore(EARLIEST)) {
        fail("timestamp", value, "must not be before " + EARLIEST);
        return null;
      }
      if (instant.isAfter(latest)) {
        fail(
            "timestamp",
            value,
            "is more than "
                + maxClockSkew.toHours()
                + " h ahead of the server's clock ("
                + latest
                + ")");
        return null;
      }
      return instant;
    }

    Integer integer(String field, boolean required, long max) {
      JsonNode value = required ? required(field) : present(field);
      if (value == null) {
        return null;
      }
      Long parsed = wholeNumber(field, value, max);
      return parsed == null ? null : parsed.intValue();
    }

    Long longValue(String field) {
      JsonNode value = present(field);
      return value == null ? null : wholeNumber(field, value, Long.MAX_VALUE);
    }

    private Long wholeNumber(String field, JsonNode value, long max) {
      BigDecimal number = numeric(value);
      if (number == null) {
        fail(field, value, "must be a whole number >= 0");
        return null;
      }
      if (number.signum() < 0) {
        fail(field, value, "must be >= 0");
        return null;
      }
      if (number.stripTrailingZeros().scale() > 0) {
        fail(field, value, "must be a whole number");
        return null;
      }
      if (number.compareTo(BigDecimal.valueOf(max)) > 0) {
        fail(field, value, "must be at most " + max);
        return null;
      }
      return number.longValueExact();
    }

    /** A JSON number; in FIELD mode also a string holding one. */
    private BigDecimal numeric(JsonNode value) {
      if (value.isNumber()) {
        return value.decimalValue();
      }
      if (mode == Mode.FIELD && value.isTextual()) {
        String text = value.textValue().strip();
        if (INTEGER_TEXT.matcher(text).matches() || DECIMAL_TEXT.matcher(text).matches()) {
          return new BigDecimal(text);
        }
      }
      return null;
    }

    Double speed() {
      JsonNode value = required("internet_speed");
      if (value == null) {
        return null;
      }
      BigDecimal number = numeric(value);
      if (number == null) {
        fail("internet_speed", value, "must be a number >= 0 (Mbit/s)");
        return null;
      }
      if (number.signum() < 0
          || number.compareTo(BigDecimal.valueOf(SyncEvent.MAX_SPEED_MBPS)) > 0) {
        fail("internet_speed", value, "must be between 0 and " + (long) SyncEvent.MAX_SPEED_MBPS);
        return null;
      }
      return number.doubleValue();
    }

    Long durationMs() {
      Long ms = longValue("duration_ms");
      if (mode == Mode.FIELD && ms == null && present("sync_duration") != null) {
        Long seconds =
            wholeNumber("sync_duration", present("sync_duration"), Long.MAX_VALUE / 1000);
        return seconds == null ? null : seconds * 1000;
      }
      return ms;
    }

    String errorMessage() {
      String message = text("error_message", SyncEvent.MAX_ERROR_MESSAGE);
      if (mode == Mode.FIELD && message == null) {
        return text("error_details", SyncEvent.MAX_ERROR_MESSAGE);
      }
      return message;
    }

    String text(String field, int maxLength) {
      JsonNode value = present(field);
      if (value == null) {
        return null;
      }
      if (!value.isTextual()) {
        fail(field, value, "must be a string");
        return null;
      }
      if (value.textValue().length() > maxLength) {
        fail(field, value, "must be at most " + maxLength + " characters");
        return null;
      }
      if (value.textValue().indexOf('\u0000') >= 0) {
        fail(field, value, "must not contain NUL characters");
        return null;
      }
      if (io.pisync.http.Unicode.hasUnpairedSurrogate(value.textValue())) {
        fail(field, value, "must be valid Unicode (it has an unpaired surrogate escape)");
        return null;
      }
      return value.textValue();
    }
  }
}

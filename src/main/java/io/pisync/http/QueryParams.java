package io.pisync.http;

import io.javalin.http.Context;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Reads query parameters, collecting every invalid one; {@link #check()} then throws a single 400
 * naming all of them.
 */
public final class QueryParams {
  private final Context ctx;
  private final List<FieldError> errors = new ArrayList<>();

  public QueryParams(Context ctx) {
    this.ctx = ctx;
  }

  public int integer(String name, int defaultValue, int min, int max) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isBlank()) {
      return defaultValue;
    }
    try {
      int value = Integer.parseInt(raw.strip());
      if (value < min || value > max) {
        errors.add(new FieldError(name, raw, "must be between " + min + " and " + max));
      }
      return value;
    } catch (NumberFormatException e) {
      errors.add(new FieldError(name, raw, "must be a whole number"));
      return defaultValue;
    }
  }

  public boolean bool(String name) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isBlank()) {
      return false;
    }
    return switch (raw.strip().toLowerCase(Locale.ROOT)) {
      case "true", "1", "yes" -> true;
      case "false", "0", "no" -> false;
      default -> {
        errors.add(new FieldError(name, raw, "must be true or false"));
        yield false;
      }
    };
  }

  public Optional<Instant> instant(String name) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isBlank()) {
      return Optional.empty();
    }
    try {
      Instant value = OffsetDateTime.parse(raw.strip()).toInstant();
      if (!Times.inRange(value)) {
        errors.add(new FieldError(name, raw, "must be between " + Times.RANGE));
        return Optional.empty();
      }
      return Optional.of(value);
    } catch (DateTimeParseException e) {
      errors.add(
          new FieldError(
              name, raw, "must be an ISO-8601 time with offset, e.g. 2025-06-01T10:30:00Z"));
      return Optional.empty();
    }
  }

  public Optional<String> oneOf(String name, Set<String> allowed) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isBlank()) {
      return Optional.empty();
    }
    String value = raw.strip().toLowerCase(Locale.ROOT);
    if (!allowed.contains(value)) {
      errors.add(
          new FieldError(
              name,
              raw,
              "must be one of " + String.join(", ", allowed.stream().sorted().toList())));
      return Optional.empty();
    }
    return Optional.of(value);
  }

  public Optional<String> text(String name, int maxLength) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isEmpty()) {
      return Optional.empty();
    }
    if (raw.length() > maxLength) {
      errors.add(new FieldError(name, raw, "must be at most " + maxLength + " characters"));
      return Optional.empty();
    }
    if (Cursor.hasControlChars(raw)) {
      errors.add(new FieldError(name, raw, "must not contain control characters"));
      return Optional.empty();
    }
    return Optional.of(raw);
  }

  public void check() {
    if (!errors.isEmpty()) {
      throw ApiProblem.invalid(errors);
    }
  }
}

package io.pisync.http;

import io.javalin.http.Context;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads query parameters, collecting every invalid one; {@link #check()} then throws a single 400
 * naming all of them.
 */
public final class QueryParams {
  private final Context ctx;
  private final List<FieldError> errors = new ArrayList<>();

  public QueryParams(Context ctx) {
    this.ctx = ctx;
    checkEscapes(ctx.queryString());
  }

  /**
   * The HTTP layer drops a parameter whose percent-escapes do not decode ({@code cursor=%zz}), so a
   * bad cursor would silently become an initial sync: such parameters are named here instead.
   */
  private void checkEscapes(String query) {
    if (query == null || query.indexOf('%') < 0) return;
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      try {
        URLDecoder.decode(pair, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        errors.add(
            new FieldError(
                decodable(name) ? decode(name) : "(query)",
                pair,
                "has a broken percent-escape (% must be followed by two hex digits)"));
      }
    }
  }

  private static boolean decodable(String text) {
    try {
      decode(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String decode(String text) {
    return URLDecoder.decode(text, StandardCharsets.UTF_8);
  }

  /** The parameter's one value, null when absent; given more than once, it is an error. */
  private String single(String name) {
    List<String> values = ctx.queryParams(name);
    if (values.size() > 1) {
      errors.add(
          new FieldError(
              name,
              String.join(", ", values),
              "is given " + values.size() + " times; give it once"));
    }
    return values.isEmpty() ? null : values.getFirst();
  }

  private static final Pattern WHOLE_NUMBER = Pattern.compile("-?[0-9]{1,18}");

  public int integer(String name, int defaultValue, int min, int max) {
    String raw = single(name);
    if (raw == null || raw.isEmpty()) {
      return defaultValue;
    }
    // ASCII digits only: Integer.parseInt would also take '+5' and other scripts' digits
    if (!WHOLE_NUMBER.matcher(raw).matches()) {
      errors.add(new FieldError(name, raw, "must be a whole number (digits 0-9)"));
      return defaultValue;
    }
    long value = Long.parseLong(raw);
    if (value < min || value > max) {
      errors.add(new FieldError(name, raw, "must be between " + min + " and " + max));
      return defaultValue;
    }
    return (int) value;
  }

  public boolean bool(String name) {
    String raw = single(name);
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
    String raw = single(name);
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
    String raw = single(name);
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
    String raw = single(name);
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

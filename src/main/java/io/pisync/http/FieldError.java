package io.pisync.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * One invalid field: its name (a JSON pointer-like path such as {@code events[3].timestamp}), the
 * value that was sent (absent when the field was missing) and what is wrong with it.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record FieldError(String field, Object value, String message) {
  public FieldError {
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(message, "message");
  }

  /** A field the object may not have, with the value sent (as JSON, shortened). */
  public static FieldError unknown(String field, JsonNode value) {
    return new FieldError(field, shorten(value), "unknown field");
  }

  /**
   * A JSON value as quoted back in a problem: a string, number, boolean or null as itself (so
   * {@code "abc"} is not quoted twice), an array or object as its JSON text; text cut after 100
   * characters.
   */
  public static Object shorten(JsonNode value) {
    if (value == null || value.isMissingNode() || value.isNull()) return null;
    if (value.isTextual()) return shorten(value.textValue());
    if (value.isNumber()) return value.numberValue();
    if (value.isBoolean()) return value.booleanValue();
    return shorten(value.toString());
  }

  /** A value as quoted back in a problem: cut after 100 characters. */
  public static String shorten(String text) {
    return text.length() <= 100 ? text : text.substring(0, 100) + "...";
  }

  public FieldError prefixed(String prefix) {
    return new FieldError(prefix + field, value, message);
  }
}

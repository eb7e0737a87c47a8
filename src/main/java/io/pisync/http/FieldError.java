package io.pisync.http;

import com.fasterxml.jackson.annotation.JsonInclude;
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

  public FieldError prefixed(String prefix) {
    return new FieldError(prefix + field, value, message);
  }
}

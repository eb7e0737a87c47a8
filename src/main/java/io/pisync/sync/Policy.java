package io.pisync.sync;

import java.util.Arrays;
import java.util.Optional;

/** How a collection settles concurrent edits of one record. */
public enum Policy {
  /**
   * Field by field: furthest position, highest score, completed stays completed, other fields from
   * the later edit (losers kept). Never conflicts.
   */
  MERGE("merge"),
  /**
   * The later edit wins (device clock capped at receipt and raised to just after the version
   * edited, device id breaks ties); losers kept.
   */
  LAST_WRITER_WINS("last_writer_wins"),
  /** Like last-writer-wins until {@code submitted} is true; then every edit is a conflict. */
  LOCKED_AFTER_SUBMIT("locked_after_submit"),
  /** Records are created once and never changed or deleted. */
  APPEND_ONLY("append_only");

  private final String wire;

  Policy(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }

  public static Optional<Policy> parse(String text) {
    return Arrays.stream(values()).filter(p -> p.wire.equals(text)).findFirst();
  }

  /**
   * Whether concurrent edits are ordered by their edit times (which the server keeps per version).
   */
  public boolean ordersByTime() {
    return this == LAST_WRITER_WINS || this == LOCKED_AFTER_SUBMIT;
  }

  public static String choices() {
    return String.join(", ", Arrays.stream(values()).map(Policy::wire).toList());
  }
}

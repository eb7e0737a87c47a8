package io.pisync.sync;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonRawValue;
import io.pisync.http.FieldError;
import java.util.List;

/** What became of one pushed mutation. Serialised as the device sees it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"mutation_id", "status"})
public sealed interface PushResult {
  String mutationId();

  @JsonProperty("status")
  String status();

  /**
   * Stored as the record's new version. {@code record} is the stored state when it differs from
   * what the device sent (a merge), so the device can keep the merged record.
   */
  record Applied(
      String mutationId,
      String collection,
      String scope,
      String recordId,
      long version,
      RecordView record)
      implements PushResult {
    @Override
    public String status() {
      return "applied";
    }
  }

  /** Not applied: the record's policy kept another version, which {@code record} is. */
  record Conflict(
      String mutationId,
      String collection,
      String scope,
      String recordId,
      String reason,
      String detail,
      RecordView record)
      implements PushResult {
    @Override
    public String status() {
      return "conflict";
    }
  }

  /** Refused for a reason of its own (invalid, not allowed); kept server-side for inspection. */
  record Rejected(String mutationId, String reason, String detail, List<FieldError> errors)
      implements PushResult {
    public Rejected {
      errors = errors == null || errors.isEmpty() ? null : List.copyOf(errors);
    }

    @Override
    public String status() {
      return "rejected";
    }
  }

  /** A replay of a mutation id seen before: {@code original} is the first answer, unchanged. */
  record Duplicate(String mutationId, @JsonRawValue String original) implements PushResult {
    @Override
    public String status() {
      return "duplicate";
    }
  }
}

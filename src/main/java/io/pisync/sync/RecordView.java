package io.pisync.sync;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonRawValue;
import java.time.Instant;

/** A record as devices and operators see it; {@code data} is null for a deleted record. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record RecordView(
    String collection,
    String scope,
    String recordId,
    long version,
    boolean deleted,
    @JsonRawValue String data,
    Instant modifiedAt,
    Instant updatedAt,
    String updatedBy) {

  public static RecordView of(StoredRecord r) {
    return new RecordView(
        r.key().collection(),
        r.key().scope(),
        r.key().recordId(),
        r.version(),
        r.deleted(),
        r.data(),
        r.modifiedAt(),
        r.updatedAt(),
        r.updatedBy());
  }
}

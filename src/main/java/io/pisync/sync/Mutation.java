package io.pisync.sync;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One change a device pushes. Valid once built: {@code data} is an object for an upsert and absent
 * for a delete; {@code digest} identifies the content, so a reused mutation id is recognised.
 *
 * @param baseVersion the record version the device last saw (0: none)
 * @param modifiedAt when the device made the change, by its own clock
 */
public record Mutation(
    String mutationId,
    RecordKey key,
    Op op,
    long baseVersion,
    ObjectNode data,
    Optional<Instant> modifiedAt,
    String digest) {

  public Mutation {
    if (!SyncIds.isId(mutationId)) throw new IllegalArgumentException("bad mutation id");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(op, "op");
    Objects.requireNonNull(modifiedAt, "modifiedAt");
    Objects.requireNonNull(digest, "digest");
    if (baseVersion < 0) throw new IllegalArgumentException("base version " + baseVersion);
    if ((op == Op.UPSERT) != (data != null)) {
      throw new IllegalArgumentException("an upsert needs data and a delete has none");
    }
  }
}

package io.pisync.sync;

/** Which record: its scope, collection and id. Valid once built. */
public record RecordKey(String scope, String collection, String recordId) {
  public RecordKey {
    if (!SyncIds.isId(scope)) throw new IllegalArgumentException("bad scope " + scope);
    if (!SyncIds.isCollection(collection)) {
      throw new IllegalArgumentException("bad collection " + collection);
    }
    if (!SyncIds.isId(recordId)) throw new IllegalArgumentException("bad record id " + recordId);
  }

  /** A 64-bit FNV-1a hash, the key of the record's advisory lock. */
  public long lockKey() {
    long h = 0xcbf29ce484222325L;
    for (String part : new String[] {scope, collection, recordId}) {
      for (int i = 0; i < part.length(); i++) {
        h = (h ^ part.charAt(i)) * 0x100000001b3L;
      }
      h = (h ^ 0x1f) * 0x100000001b3L;
    }
    return h;
  }

  @Override
  public String toString() {
    return collection + "/" + scope + "/" + recordId;
  }
}

package io.pisync.sync;

/** What a mutation does to its record. */
public enum Op {
  UPSERT,
  DELETE
}

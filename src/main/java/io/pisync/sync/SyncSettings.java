package io.pisync.sync;

/**
 * The settings of record sync, validated by the server's configuration.
 *
 * @param tombstoneRetentionDays how long deletions are kept for devices to pull; an older cursor
 *     gets 410
 * @param mutationRetentionDays how long pushed mutation ids are remembered to answer replays
 * @param maxPushMutations most mutations in one push
 * @param streamHeartbeatSeconds how often an idle stream sends a heartbeat
 * @param maxStreams most streams open at once (more: 503)
 */
public record SyncSettings(
    int tombstoneRetentionDays,
    int mutationRetentionDays,
    int maxPushMutations,
    int streamHeartbeatSeconds,
    int maxStreams) {

  public SyncSettings {
    if (tombstoneRetentionDays < 1) throw new IllegalArgumentException("tombstone retention");
    if (mutationRetentionDays < 1) throw new IllegalArgumentException("mutation retention");
    if (maxPushMutations < 1) throw new IllegalArgumentException("max push mutations");
    if (streamHeartbeatSeconds < 1) throw new IllegalArgumentException("heartbeat");
    if (maxStreams < 0) throw new IllegalArgumentException("max streams");
  }
}

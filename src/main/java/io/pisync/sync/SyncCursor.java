package io.pisync.sync;

import io.pisync.http.Cursor;
import java.util.List;

/**
 * Where a device is in the change feed; issued by the server, opaque to devices.
 *
 * <p>A pull returns each visible record once, at its <em>effective position</em>: the feed position
 * of its latest change, or, for records of a scope granted after they changed, the position of the
 * grant. Changes are ordered by (effective position, record position), and a cursor is the last
 * pair delivered. {@code epoch} is set during an initial sync: the feed head when it began. The
 * device's own writes up to the epoch are sent (it has no data yet); after that, a record whose
 * latest version is exactly what this device sent is never sent back to it.
 *
 * @param position effective position of the last change delivered
 * @param seq feed position of that change (equal to {@code position} outside a scope backfill)
 * @param epoch feed head when the initial sync began, or {@link #NO_EPOCH}
 */
public record SyncCursor(long position, long seq, long epoch) {
  public static final long NO_EPOCH = -1;

  public SyncCursor {
    if (position < 0 || seq < 0 || seq > position || epoch < NO_EPOCH) {
      throw new IllegalArgumentException("bad cursor " + position + "/" + seq + "/" + epoch);
    }
  }

  /** The start of an initial sync that began when the feed head was {@code head}. */
  public static SyncCursor initial(long head) {
    return new SyncCursor(0, 0, head);
  }

  /** Everything up to {@code head} delivered. */
  public static SyncCursor at(long head) {
    return new SyncCursor(head, head, NO_EPOCH);
  }

  public String encode() {
    return Cursor.encode(Long.toString(position), Long.toString(seq), Long.toString(epoch));
  }

  /** Decodes a cursor this server issued, or throws a 400 {@code bad-cursor} problem. */
  public static SyncCursor decode(String text) {
    List<String> parts = Cursor.decode(text, 3);
    try {
      var cursor =
          new SyncCursor(
              Long.parseLong(parts.get(0)),
              Long.parseLong(parts.get(1)),
              Long.parseLong(parts.get(2)));
      // numbers as this server writes them: not '+5' nor other scripts' digits
      if (!cursor.encode().equals(text)) throw Cursor.badCursor(text);
      return cursor;
    } catch (IllegalArgumentException e) {
      throw Cursor.badCursor(text);
    }
  }
}

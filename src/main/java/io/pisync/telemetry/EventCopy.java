package io.pisync.telemetry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.postgresql.PGConnection;

/**
 * Writes events with {@code COPY ... FROM STDIN}, PostgreSQL's fastest way in: no statement to
 * plan, no array parameters to unpack. Text format: tab-separated, {@code \N} for null.
 */
final class EventCopy {
  private static final String COPY = "COPY sync_events (" + EventStore.COLUMNS + ") FROM STDIN";

  private EventCopy() {}

  static void copy(Connection c, List<StoredEvent> events) throws SQLException {
    if (events.isEmpty()) {
      return;
    }
    byte[] data = encode(events);
    try {
      c.unwrap(PGConnection.class).getCopyAPI().copyIn(COPY, new ByteArrayInputStream(data));
    } catch (IOException e) {
      throw new SQLException("COPY of " + events.size() + " events failed", "08006", e);
    }
  }

  static byte[] encode(List<StoredEvent> events) {
    var out = new StringBuilder(events.size() * 160);
    for (StoredEvent e : events) {
      out.append(e.eventId()).append('\t');
      text(out, e.deviceId()).append('\t');
      out.append(e.timestamp()).append('\t');
      out.append(e.receivedAt()).append('\t');
      out.append(e.status().wire()).append('\t');
      out.append(e.totalFilesSynced()).append('\t');
      out.append(e.totalErrors()).append('\t');
      out.append(e.internetSpeed()).append('\t');
      nullable(out, e.durationMs()).append('\t');
      nullable(out, e.bytesSynced()).append('\t');
      text(out, e.errorMessage()).append('\t');
      text(out, e.appVersion()).append('\n');
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static StringBuilder nullable(StringBuilder out, Long value) {
    return value == null ? out.append("\\N") : out.append(value.longValue());
  }

  /** COPY text escaping: backslash, tab, newline and carriage return. */
  private static StringBuilder text(StringBuilder out, String value) {
    if (value == null) {
      return out.append("\\N");
    }
    for (int i = 0; i < value.length(); i++) {
      char ch = value.charAt(i);
      switch (ch) {
        case '\\' -> out.append("\\\\");
        case '\t' -> out.append("\\t");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        default -> out.append(ch);
      }
    }
    return out;
  }
}

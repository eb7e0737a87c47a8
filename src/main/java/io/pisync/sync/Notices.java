package io.pisync.sync;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Set;

/**
 * What a committed change tells the streams, sent with PostgreSQL NOTIFY (delivered at COMMIT, to
 * every PiSync instance on the database).
 */
final class Notices {
  static final String CHANNEL = "pisync_sync";

  /** NOTIFY payloads must stay under 8,000 bytes. */
  private static final int MAX_PAYLOAD_BYTES = 7_900;

  /**
   * A new feed head. {@code scopes}: where records changed; {@code by}: the device whose push it
   * was (not poked about its own writes); {@code devices}: devices whose grants changed; {@code
   * all}: poke every stream (the scope list was too long).
   */
  record Notice(long head, String by, Set<String> scopes, List<String> devices, boolean all) {
    Notice(long head, String by, Set<String> scopes, List<String> devices) {
      this(head, by, scopes, devices, false);
    }
  }

  private Notices() {}

  static void notify(Connection c, ObjectMapper mapper, Notice notice) throws SQLException {
    String payload = payload(mapper, notice);
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
      ps.setString(1, CHANNEL);
      ps.setString(2, payload);
      ps.execute();
    }
  }

  static String payload(ObjectMapper mapper, Notice notice) {
    try {
      String text = mapper.writeValueAsString(notice);
      if (text.getBytes(StandardCharsets.UTF_8).length <= MAX_PAYLOAD_BYTES) return text;
      return mapper.writeValueAsString(
          new Notice(notice.head(), notice.by(), Set.of(), List.of(), true));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static Notice parse(ObjectMapper mapper, String payload) throws JsonProcessingException {
    return mapper.readValue(payload, Notice.class);
  }
}

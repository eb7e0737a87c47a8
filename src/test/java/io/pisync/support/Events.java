package io.pisync.support;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** Builds sync-event JSON bodies for tests. */
public final class Events {
  private Events() {}

  /** A valid v1 event; override fields with {@code with}. */
  public static Map<String, Object> event(String deviceId, Instant at, int files, int errors) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("device_id", deviceId);
    e.put("timestamp", at.toString());
    e.put("total_files_synced", files);
    e.put("total_errors", errors);
    e.put("internet_speed", 12.5);
    return e;
  }

  public static Map<String, Object> success(String deviceId, Instant at) {
    return event(deviceId, at, 10, 0);
  }

  public static Map<String, Object> failed(String deviceId, Instant at) {
    return event(deviceId, at, 0, 3);
  }

  public static Map<String, Object> partial(String deviceId, Instant at) {
    return event(deviceId, at, 5, 2);
  }

  public static Map<String, Object> withId(Map<String, Object> event, UUID id) {
    Map<String, Object> copy = new LinkedHashMap<>(event);
    copy.put("event_id", id.toString());
    return copy;
  }
}

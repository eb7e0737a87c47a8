package io.pisync.auth;

import io.pisync.http.FieldError;
import io.pisync.telemetry.SyncEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** What an admin (or an enrolling device) says about a device: valid once constructed. */
public record DeviceRegistration(
    String deviceId, String type, String group, Map<String, String> labels) {
  public static final List<String> TYPES = List.of("PiBook", "PiBox");
  private static final Pattern GROUP = Pattern.compile("[\\p{L}\\p{N} ._:/-]{1,128}");
  private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  static final int MAX_LABELS = 32;

  public DeviceRegistration {
    labels = Map.copyOf(labels);
    List<FieldError> errors = problems(deviceId, type, group, labels);
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(errors.getFirst().message());
    }
  }

  /** Every problem of these values, for a 400 that lists them all. */
  public static List<FieldError> problems(
      String deviceId, String type, String group, Map<String, String> labels) {
    var errors = new ArrayList<FieldError>();
    if (deviceId == null || !SyncEvent.isDeviceId(deviceId)) {
      errors.add(new FieldError("device_id", deviceId, SyncEvent.DEVICE_ID_RULE));
    } else {
      String reserved = SyncEvent.reservedDeviceIdReason(deviceId);
      if (reserved != null) errors.add(new FieldError("device_id", deviceId, reserved));
    }
    if (type == null || !TYPES.contains(type)) {
      errors.add(new FieldError("type", type, "must be one of " + TYPES));
    }
    if (group == null || !GROUP.matcher(group).matches()) {
      errors.add(
          new FieldError(
              "group", group, "must be 1-128 letters, digits, spaces or . _ : / - (a school...)"));
    }
    if (labels.size() > MAX_LABELS) {
      errors.add(new FieldError("labels", labels.size(), "at most " + MAX_LABELS + " labels"));
    }
    labels.forEach((key, value) -> {
      if (!LABEL_KEY.matcher(key).matches()) {
        errors.add(new FieldError("labels", key, "label names are 1-64 of A-Z a-z 0-9 . _ -"));
      } else if (value == null || value.length() > 256 || value.indexOf('\0') >= 0) {
        errors.add(new FieldError("labels." + key, value, "label values are text of 0-256 chars"));
      }
    });
    return errors;
  }
}

package io.pisync.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Registered devices and their keys. A key is shown once, when issued; only its SHA-256 digest is
 * stored. A check reads the database once, then its answer is remembered in the {@link
 * CredentialCache} until keys change anywhere: rotation and revocation announce themselves to every
 * instance at commit.
 */
public final class DeviceKeys {
  public static final String KEY_PREFIX = "psk_";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Jdbi jdbi;
  private final InstantSource clock;
  private final Duration gracePeriod;
  private final CredentialCache cache;

  public DeviceKeys(Jdbi jdbi, InstantSource clock, Duration gracePeriod, CredentialCache cache) {
    this.jdbi = jdbi;
    this.clock = clock;
    this.gracePeriod = gracePeriod;
    this.cache = cache;
  }

  /** A current key: its device, and when it stops working (null: not before it is revoked). */
  private record KeyOwner(String deviceId, Instant expiresAt) {
    boolean validAt(Instant now) {
      return expiresAt == null || expiresAt.isAfter(now);
    }
  }

  /** Outcome of a registration. */
  public sealed interface Registered {
    record Issued(DeviceInfo device, String apiKey) implements Registered {}

    record AlreadyRegistered(String deviceId) implements Registered {}
  }

  /** A registered device and the state of its keys. */
  public record DeviceInfo(
      String deviceId,
      String type,
      String group,
      Map<String, String> labels,
      Instant registeredAt,
      String registeredBy,
      int activeKeys) {}

  /** A newly issued key, and until when the replaced keys still work. */
  public record Rotated(String deviceId, String apiKey, Instant previousKeysValidUntil) {}

  public Registered register(DeviceRegistration r, String by) {
    Instant now = clock.instant();
    return jdbi.inTransaction(h -> {
      int inserted =
          h.createUpdate(
                  """
                  INSERT INTO registered_devices
                      (device_id, device_type, group_name, labels, registered_at, registered_by)
                  VALUES (:id, :type, :group, CAST(:labels AS jsonb), :now, :by)
                  ON CONFLICT (device_id) DO NOTHING\
                  """)
              .bind("id", r.deviceId())
              .bind("type", r.type())
              .bind("group", r.group())
              .bind("labels", json(r.labels()))
              .bind("now", at(now))
              .bind("by", by)
              .execute();
      if (inserted == 0) {
        return new Registered.AlreadyRegistered(r.deviceId());
      }
      String key = issue(h, r.deviceId(), now);
      return new Registered.Issued(find(h, r.deviceId()).orElseThrow(), key);
    });
  }

  /** Issues a new key; the device's current keys keep working for the grace period. */
  public Optional<Rotated> rotate(String deviceId) {
    Instant now = clock.instant();
    Instant until = now.plus(gracePeriod);
    Optional<Rotated> rotated =
        jdbi.inTransaction(h -> {
          if (!lockDevice(h, deviceId)) return Optional.empty();
          h.createUpdate(
                  """
                  UPDATE device_keys SET expires_at = :until
                  WHERE device_id = :id AND revoked_at IS NULL
                    AND (expires_at IS NULL OR expires_at > :until)\
                  """)
              .bind("id", deviceId)
              .bind("until", at(until))
              .execute();
          return Optional.of(new Rotated(deviceId, issue(h, deviceId, now), until));
        });
    cache.forgetAll();
    return rotated;
  }

  /** Revokes every key of the device at once; true if the device is registered. */
  public boolean revoke(String deviceId) {
    Instant now = clock.instant();
    boolean revoked =
        jdbi.inTransaction(h -> {
          if (!lockDevice(h, deviceId)) return false;
          h.createUpdate(
                  "UPDATE device_keys SET revoked_at = :now"
                      + " WHERE device_id = :id AND revoked_at IS NULL")
              .bind("id", deviceId)
              .bind("now", at(now))
              .execute();
          return true;
        });
    cache.forgetAll();
    return revoked;
  }

  /** The device a key belongs to, if the key is current. */
  public Optional<String> authenticate(String apiKey) {
    if (apiKey == null || !apiKey.startsWith(KEY_PREFIX) || apiKey.length() > 100) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    byte[] digest = Secrets.digest(apiKey);
    return cache
        .get("key:" + java.util.HexFormat.of().formatHex(digest), () -> lookUp(digest, now))
        .filter(owner -> owner.validAt(now))
        .map(KeyOwner::deviceId);
  }

  private Optional<KeyOwner> lookUp(byte[] digest, Instant now) {
    return Reads.retryingLostConnection(() ->
        jdbi.withHandle(h ->
            h.createQuery(
                    """
                    SELECT device_id, expires_at FROM device_keys
                    WHERE key_hash = :hash AND revoked_at IS NULL
                      AND (expires_at IS NULL OR expires_at > :now)\
                    """)
                .bind("hash", digest)
                .bind("now", at(now))
                .map((rs, ctx) ->
                    new KeyOwner(
                        rs.getString("device_id"),
                        Optional.ofNullable(rs.getObject("expires_at", OffsetDateTime.class))
                            .map(OffsetDateTime::toInstant)
                            .orElse(null)))
                .findOne()));
  }

  public Optional<DeviceInfo> find(String deviceId) {
    return jdbi.withHandle(h -> find(h, deviceId));
  }

  /** Registered devices in id order, after {@code afterId} (null: from the start). */
  public List<DeviceInfo> list(String afterId, int limit) {
    return jdbi.withHandle(h ->
        h.createQuery(SELECT_INFO + " WHERE d.device_id > :after ORDER BY d.device_id LIMIT :n")
            .bind("after", afterId == null ? "" : afterId)
            .bind("n", limit)
            .bind("now", at(clock.instant()))
            .map((rs, ctx) -> info(rs))
            .list());
  }

  private static final String SELECT_INFO =
      """
      SELECT d.device_id, d.device_type, d.group_name, d.labels::text AS labels,
             d.registered_at, d.registered_by,
             (SELECT count(*) FROM device_keys k
               WHERE k.device_id = d.device_id AND k.revoked_at IS NULL
                 AND (k.expires_at IS NULL OR k.expires_at > :now)) AS active_keys
      FROM registered_devices d\
      """;

  private Optional<DeviceInfo> find(Handle h, String deviceId) {
    return h.createQuery(SELECT_INFO + " WHERE d.device_id = :id")
        .bind("id", deviceId)
        .bind("now", at(clock.instant()))
        .map((rs, ctx) -> info(rs))
        .findOne();
  }

  private static DeviceInfo info(java.sql.ResultSet rs) throws java.sql.SQLException {
    return new DeviceInfo(
        rs.getString("device_id"),
        rs.getString("device_type"),
        rs.getString("group_name"),
        labels(rs.getString("labels")),
        rs.getObject("registered_at", OffsetDateTime.class).toInstant(),
        rs.getString("registered_by"),
        rs.getInt("active_keys"));
  }

  private static boolean lockDevice(Handle h, String deviceId) {
    return h.createQuery("SELECT 1 FROM registered_devices WHERE device_id = :id FOR UPDATE")
        .bind("id", deviceId)
        .mapTo(Integer.class)
        .findOne()
        .isPresent();
  }

  private static String issue(Handle h, String deviceId, Instant now) {
    String key = Secrets.generate(KEY_PREFIX);
    h.createUpdate(
            "INSERT INTO device_keys (key_hash, device_id, created_at) VALUES (:hash, :id, :now)")
        .bind("hash", Secrets.digest(key))
        .bind("id", deviceId)
        .bind("now", at(now))
        .execute();
    return key;
  }

  static OffsetDateTime at(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }

  private static String json(Map<String, String> labels) {
    try {
      return JSON.writeValueAsString(labels);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> labels(String json) {
    try {
      return JSON.readValue(json, Map.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("labels column holds invalid JSON", e);
    }
  }
}

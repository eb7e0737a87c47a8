package io.pisync.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.pisync.http.ApiProblem;
import io.pisync.http.Cursor;
import io.pisync.http.JsonBody;
import io.pisync.http.JsonFields;
import io.pisync.http.Page;
import io.pisync.http.ProblemType;
import io.pisync.http.QueryParams;
import io.pisync.http.Routes;
import io.pisync.telemetry.SyncEvent;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Device registration, self-enrolment with the fleet token, key rotation and revocation. */
public final class DeviceKeyRoutes {
  private static final Set<String> REGISTRATION_FIELDS =
      Set.of("device_id", "type", "group", "labels");

  private final DeviceKeys keys;
  private final ObjectMapper mapper;
  private final Optional<String> enrolmentToken;

  public DeviceKeyRoutes(DeviceKeys keys, ObjectMapper mapper, Optional<String> enrolmentToken) {
    this.keys = keys;
    this.mapper = mapper;
    this.enrolmentToken = enrolmentToken;
  }

  public void register(Routes routes) {
    routes
        .post("/api/v1/devices", Access.ADMIN, this::registerDevice)
        .post("/api/v1/devices/enrol", Access.PUBLIC, this::enrol)
        .get("/api/v1/registrations", Access.VIEWER, this::list)
        .get("/api/v1/devices/{device_id}/registration", Access.DEVICE_OR_VIEWER, this::find)
        .post("/api/v1/devices/{device_id}/keys/rotate", Access.ADMIN, this::rotate)
        .post("/api/v1/devices/{device_id}/keys/revoke", Access.ADMIN, this::revoke);
  }

  /** A registration as answered; {@code apiKey} only when a key was just issued. */
  public record RegistrationView(
      @com.fasterxml.jackson.annotation.JsonUnwrapped DeviceKeys.DeviceInfo device,
      String apiKey) {}

  private void registerDevice(Context ctx) {
    var fields = new JsonFields(JsonBody.read(ctx, mapper), REGISTRATION_FIELDS);
    DeviceRegistration registration = registration(fields);
    issue(ctx, registration, "account:" + ((Principal.Person) Principal.of(ctx)).username());
  }

  private void enrol(Context ctx) {
    var allowed = new java.util.HashSet<>(REGISTRATION_FIELDS);
    allowed.add("enrolment_token");
    var fields = new JsonFields(JsonBody.read(ctx, mapper), allowed);
    String token = fields.secret("enrolment_token");
    DeviceRegistration registration = registration(fields);
    if (enrolmentToken.isEmpty()) {
      throw new ApiProblem(
          ProblemType.ENROLMENT_OFF,
          "self-enrolment is off (PISYNC_ENROLMENT_TOKEN is not set); ask an admin to register"
              + " the device");
    }
    if (!Secrets.equal(token, enrolmentToken.get())) {
      ctx.header("WWW-Authenticate", Guard.CHALLENGE);
      throw new ApiProblem(ProblemType.UNAUTHENTICATED, "the enrolment token is wrong");
    }
    issue(ctx, registration, "enrolment");
  }

  private static DeviceRegistration registration(JsonFields fields) {
    String deviceId = fields.text("device_id", true);
    String type = fields.text("type", true);
    String group = fields.text("group", true);
    Map<String, String> labels = fields.stringMap("labels");
    fields.add(DeviceRegistration.problems(deviceId, type, group, labels));
    fields.check();
    return new DeviceRegistration(deviceId, type, group, labels);
  }

  private void issue(Context ctx, DeviceRegistration registration, String by) {
    switch (keys.register(registration, by)) {
      case DeviceKeys.Registered.Issued issued ->
          ctx.status(201).json(new RegistrationView(issued.device(), issued.apiKey()));
      case DeviceKeys.Registered.AlreadyRegistered already ->
          throw new ApiProblem(
              ProblemType.ALREADY_EXISTS,
              "device '"
                  + already.deviceId()
                  + "' is already registered; an admin can rotate its key");
    }
  }

  private void list(Context ctx) {
    var params = new QueryParams(ctx);
    int limit = params.integer("limit", 100, 1, 1000);
    Optional<String> cursor = params.text("cursor", 200);
    params.check();
    String after = cursor.map(c -> Cursor.decodeOne(c, SyncEvent::isDeviceId)).orElse(null);
    List<RegistrationView> rows =
        keys.list(after, limit + 1).stream().map(d -> new RegistrationView(d, null)).toList();
    ctx.json(Page.of(rows, limit, r -> Cursor.encode(r.device().deviceId())));
  }

  private void find(Context ctx) {
    String deviceId = deviceId(ctx);
    ctx.json(
        new RegistrationView(keys.find(deviceId).orElseThrow(() -> notRegistered(deviceId)), null));
  }

  private void rotate(Context ctx) {
    String deviceId = deviceId(ctx);
    DeviceKeys.Rotated rotated = keys.rotate(deviceId).orElseThrow(() -> notRegistered(deviceId));
    ctx.json(
        Map.of(
            "device_id", rotated.deviceId(),
            "api_key", rotated.apiKey(),
            "previous_keys_valid_until", rotated.previousKeysValidUntil()));
  }

  private void revoke(Context ctx) {
    String deviceId = deviceId(ctx);
    if (!keys.revoke(deviceId)) throw notRegistered(deviceId);
    ctx.status(204);
  }

  /** The device named in the path; an id no device could have is a 400 naming it. */
  private static String deviceId(Context ctx) {
    String deviceId = ctx.pathParam("device_id");
    if (!SyncEvent.isDeviceId(deviceId)) {
      throw ApiProblem.invalid("device_id", deviceId, SyncEvent.DEVICE_ID_RULE);
    }
    return deviceId;
  }

  private static ApiProblem notRegistered(String deviceId) {
    return new ApiProblem(
        ProblemType.DEVICE_NOT_FOUND, "device '" + deviceId + "' is not registered");
  }
}

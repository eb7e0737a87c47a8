package io.pisync.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.Api;
import io.pisync.support.TestServer;

/** Scope grants through the admin API, for tests. */
final class Grants {
  private Grants() {}

  /** Grants a scope, registering the device first when it is new. */
  static void grant(TestServer server, String device, String scope) {
    server.deviceKey(device);
    Api.Response r = server.api().put(path(device, scope), null);
    assertThat(r.status()).as("grant %s to %s: %s", scope, device, r.body()).isIn(200, 201);
  }

  static void revoke(TestServer server, String device, String scope) {
    Api.Response r = server.api().delete(path(device, scope));
    assertThat(r.status()).as("revoke %s from %s: %s", scope, device, r.body()).isEqualTo(204);
  }

  static String path(String device, String scope) {
    return "/api/v1/sync/devices/" + device + "/scopes/" + scope;
  }
}

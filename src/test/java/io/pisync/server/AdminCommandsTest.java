package io.pisync.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.pisync.support.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code pisync user ...} and {@code pisync device ...} as separate processes, one database. */
class AdminCommandsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  record Run(int exit, String out) {}

  static Run pisync(String stdin, String... args) throws IOException, InterruptedException {
    String java = ProcessHandle.current().info().command().orElse("java");
    var command =
        new java.util.ArrayList<>(
            List.of(java, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    command.addAll(List.of(args));
    var pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("PISYNC_"));
    pb.environment().put("PISYNC_DB_URL", server.jdbcUrl());
    Process p = pb.start();
    if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Run(p.waitFor(), out);
  }

  @Test
  void usersAddedOnTheCommandLineSignInAndRoleChangesApply() throws Exception {
    Run add =
        pisync(
            "cli-password-123\n", "user", "add", "cli-ops", "--role", "viewer", "--password-stdin");
    assertThat(add.exit()).as(add.out()).isZero();
    String token = server.login("cli-ops", "cli-password-123");
    var ops = server.anonymous().withBearer(token);
    assertThat(ops.get("/api/v1/accounts").status()).isEqualTo(403);

    assertThat(pisync(null, "user", "set-role", "cli-ops", "admin").exit()).isZero();
    assertThat(ops.get("/api/v1/accounts").status()).isEqualTo(200);
    assertThat(pisync(null, "user", "list").out()).contains("cli-ops", "admin");
    assertThat(pisync(null, "user", "add", "cli-ops", "--role", "viewer").exit())
        .as("the name is taken")
        .isEqualTo(1);
    assertThat(pisync(null, "user", "add", "x", "--role", "boss").exit()).isEqualTo(2);
    assertThat(pisync(null, "user", "remove", "cli-ops").exit()).isZero();
    assertThat(ops.get("/api/v1/accounts").status()).isEqualTo(401);
  }

  @Test
  void devicesAddedOnTheCommandLineReportWithTheirKeyUntilRevoked() throws Exception {
    Run add =
        pisync(
            null,
            "device",
            "add",
            "cli-box-1",
            "--type",
            "PiBox",
            "--group",
            "School 9",
            "--label",
            "room=12");
    assertThat(add.exit()).as(add.out()).isZero();
    assertThat(add.out())
        .as("what the command did, without the server's log lines")
        .startsWith("registered cli-box-1")
        .doesNotContain("\"level\"");
    Matcher key = Pattern.compile("(psk_[A-Za-z0-9_-]{43})").matcher(add.out());
    assertThat(key.find()).as(add.out()).isTrue();
    var device = server.anonymous().withBearer(key.group(1));
    assertThat(device.get("/api/v1/devices/cli-box-1/registration").json().get("labels"))
        .isNotNull();
    assertThat(pisync(null, "device", "list").out()).contains("cli-box-1", "PiBox", "School 9");

    assertThat(pisync(null, "device", "revoke", "cli-box-1").exit()).isZero();
    assertThat(device.get("/api/v1/devices/cli-box-1/registration").status()).isEqualTo(401);
    assertThat(pisync(null, "device", "revoke", "nobody").exit()).isEqualTo(1);
    assertThat(pisync(null, "device", "add", "bad id", "--type", "PiPhone", "--group", "g").exit())
        .isEqualTo(2);
  }
}

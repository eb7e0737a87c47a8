package io.pisync.support;

import io.pisync.server.Config;
import io.pisync.server.PiSyncServer;
import java.util.HashMap;
import java.util.Map;

/**
 * A real PiSync server on a free port over its own fresh PostgreSQL database, with a clock the test
 * controls.
 */
public final class TestServer implements AutoCloseable {
  private final PiSyncServer server;
  private final TestClock clock;
  private final String jdbcUrl;
  private final Api api;

  private TestServer(PiSyncServer server, TestClock clock, String jdbcUrl) {
    this.server = server;
    this.clock = clock;
    this.jdbcUrl = jdbcUrl;
    this.api = new Api("http://127.0.0.1:" + server.port());
  }

  public static TestServer start() {
    return start(Map.of());
  }

  /** Starts with extra settings, given as PISYNC_* environment entries. */
  public static TestServer start(Map<String, String> settings) {
    String url = SharedPostgres.newDatabase();
    Map<String, String> env = new HashMap<>(settings);
    env.put("PISYNC_DB_URL", url);
    env.put("PISYNC_PORT", "0");
    env.put("PISYNC_HOST", "127.0.0.1");
    env.putIfAbsent("PISYNC_DB_POOL_SIZE", "8");
    TestClock clock = new TestClock();
    return new TestServer(PiSyncServer.start(Config.load(env), clock), clock, url);
  }

  public Api api() {
    return api;
  }

  public TestClock clock() {
    return clock;
  }

  public int port() {
    return server.port();
  }

  public PiSyncServer server() {
    return server;
  }

  /** JDBC URL of this server's database (user postgres, no password). */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  @Override
  public void close() {
    server.close();
  }
}

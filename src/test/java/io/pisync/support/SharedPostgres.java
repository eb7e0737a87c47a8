package io.pisync.support;

import io.pisync.server.EmbeddedDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * One real PostgreSQL for the whole test run; every test server gets a fresh database in it, so
 * tests never see each other's rows.
 */
public final class SharedPostgres {
  private static final String PREFIX = "pisync-test-pg";
  private static final String OWNER = "owner";
  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static EmbeddedDatabase postgres;

  private SharedPostgres() {}

  static synchronized EmbeddedDatabase instance() {
    if (postgres == null) {
      try {
        removeAbandoned(Path.of(System.getProperty("java.io.tmpdir")));
        Path dir = Files.createTempDirectory(PREFIX);
        Files.writeString(dir.resolve(OWNER), tag(ProcessHandle.current()));
        postgres = EmbeddedDatabase.start(dir, 0);
        // Its files (about 110 MB: binaries and the cluster) go with it, or every run would
        // leave them in the temp directory.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> closeAndDelete(dir)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return postgres;
  }

  /**
   * A test JVM that was killed (a CI timeout, the OOM killer) ran no shutdown hook: its PostgreSQL
   * may still run and its files stay. Stop and delete what such runs left; directories of runs
   * still going, or without an owner yet, are left alone.
   */
  static void removeAbandoned(Path tempDir) {
    try (Stream<Path> dirs = Files.list(tempDir)) {
      dirs.filter(dir -> dir.getFileName().toString().startsWith(PREFIX))
          .filter(SharedPostgres::isAbandoned)
          .forEach(SharedPostgres::stopAndDelete);
    } catch (IOException | UncheckedIOException e) {
      System.err.println("could not look for abandoned test databases: " + e);
    }
  }

  private static boolean isAbandoned(Path dir) {
    Path owner = dir.resolve(OWNER);
    if (!Files.isRegularFile(owner)) return false;
    try {
      String tag = Files.readString(owner).strip();
      long pid = Long.parseLong(tag.substring(0, tag.indexOf(' ')));
      return ProcessHandle.of(pid)
          .filter(ProcessHandle::isAlive)
          .map(SharedPostgres::tag)
          .map(live -> !live.equals(tag))
          .orElse(true);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** A process's pid and start time: a pid alone may have been given to another process since. */
  static String tag(ProcessHandle process) {
    return process.pid()
        + " "
        + process.info().startInstant().map(Object::toString).orElse("unknown");
  }

  private static void stopAndDelete(Path dir) {
    try {
      EmbeddedDatabase.stopLeftover(dir);
    } catch (IOException | RuntimeException e) {
      System.err.println("could not stop the PostgreSQL left in " + dir + ": " + e);
      return;
    }
    delete(dir);
  }

  private static void closeAndDelete(Path dir) {
    try {
      postgres.close();
    } catch (RuntimeException e) {
      // Still running, perhaps: its files stay, for the next start to find and stop it.
      System.err.println("could not stop the test PostgreSQL in " + dir + ": " + e);
      return;
    }
    delete(dir);
  }

  private static void delete(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      System.err.println("could not delete " + dir + ": " + e);
    }
  }

  /** Creates an empty database and returns its JDBC URL. */
  public static String newDatabase() {
    EmbeddedDatabase pg = instance();
    String name =
        "pisync_test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
    try (Connection c = pg.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return pg.jdbcUrl().replace("/postgres?", "/" + name + "?");
  }

  /** Runs SQL as the superuser on the maintenance database (to break or block others). */
  public static void admin(String sql) {
    try (Connection c = instance().dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}

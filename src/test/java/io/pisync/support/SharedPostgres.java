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
  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static EmbeddedDatabase postgres;

  private SharedPostgres() {}

  static synchronized EmbeddedDatabase instance() {
    if (postgres == null) {
      try {
        Path dir = Files.createTempDirectory("pisync-test-pg");
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

  private static void closeAndDelete(Path dir) {
    try {
      postgres.close();
    } catch (RuntimeException e) {
      // Still running, perhaps: its files stay, for the next start to find and stop it.
      System.err.println("could not stop the test PostgreSQL in " + dir + ": " + e);
      return;
    }
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

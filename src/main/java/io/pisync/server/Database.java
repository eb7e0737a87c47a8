package io.pisync.server;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection pool over the embedded PostgreSQL or an external one, migrated to the current
 * schema before anything else runs.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  private static final int MIN_MAJOR_VERSION = 14;

  private final EmbeddedDatabase embedded;
  private final HikariDataSource pool;

  private Database(EmbeddedDatabase embedded, HikariDataSource pool) {
    this.embedded = embedded;
    this.pool = pool;
  }

  public static Database open(Config config, MeterRegistry registry) {
    return open(config, registry, false);
  }

  /**
   * For administration commands: the embedded database of a running server is used as it is;
   * otherwise the database is opened (and the embedded one started) as for serving.
   */
  public static Database openForAdministration(Config config, MeterRegistry registry) {
    return open(config, registry, true);
  }

  private static Database open(Config config, MeterRegistry registry, boolean joinRunning) {
    Optional<String> running =
        joinRunning && config.embedded()
            ? EmbeddedDatabase.runningUrl(config.dataDir())
            : Optional.empty();
    EmbeddedDatabase embedded =
        config.embedded() && running.isEmpty()
            ? EmbeddedDatabase.start(config.dataDir(), config.embeddedDbPort())
            : null;
    try {
      var hikari = new HikariConfig();
      if (running.isPresent()) {
        hikari.setJdbcUrl(running.get());
      } else if (embedded != null) {
        hikari.setJdbcUrl(embedded.jdbcUrl());
      } else {
        hikari.setJdbcUrl(config.dbUrl().orElseThrow());
        config.dbUser().ifPresent(hikari::setUsername);
        config.dbPassword().ifPresent(hikari::setPassword);
      }
      hikari.setPoolName("pisync");
      hikari.setMaximumPoolSize(config.dbPoolSize());
      hikari.setMinimumIdle(Math.min(4, config.dbPoolSize()));
      // Fail fast when the database is down: requests answer 503 instead of hanging.
      hikari.setConnectionTimeout(2_000);
      hikari.setValidationTimeout(1_000);
      hikari.setInitializationFailTimeout(30_000);
      hikari.setMetricRegistry(registry);
      hikari.addDataSourceProperty("ApplicationName", "pisync");
      hikari.addDataSourceProperty("reWriteBatchedInserts", "true");
      var pool = new HikariDataSource(hikari);
      var db = new Database(embedded, pool);
      db.checkVersion();
      db.migrate();
      return db;
    } catch (RuntimeException e) {
      if (embedded != null) {
        embedded.close();
      }
      throw e;
    }
  }

  private void checkVersion() {
    try (Connection c = pool.getConnection()) {
      DatabaseMetaData meta = c.getMetaData();
      if (meta.getDatabaseMajorVersion() < MIN_MAJOR_VERSION) {
        throw new IllegalStateException(
            "PiSync needs PostgreSQL "
                + MIN_MAJOR_VERSION
                + "+, the database is "
                + meta.getDatabaseProductVersion());
      }
      log.info("connected to PostgreSQL {}", meta.getDatabaseProductVersion());
    } catch (SQLException e) {
      throw new IllegalStateException("cannot connect to the database: " + e.getMessage(), e);
    }
  }

  private void migrate() {
    Flyway flyway = Flyway.configure().dataSource(pool).load();
    int applied = flyway.migrate().migrationsExecuted;
    var current = flyway.info().current();
    log.info(
        "database schema at version {} ({} migrations applied now)",
        current == null ? "none" : current.getVersion(),
        applied);
  }

  /**
   * A connection of its own, outside the pool, for work that holds one for long (LISTEN). The
   * caller closes it.
   */
  public Connection openDedicated() throws SQLException {
    var props = new java.util.Properties();
    if (pool.getUsername() != null) props.setProperty("user", pool.getUsername());
    if (pool.getPassword() != null) props.setProperty("password", pool.getPassword());
    props.setProperty("ApplicationName", "pisync-listen");
    props.setProperty("tcpKeepAlive", "true");
    // A listener pings every few seconds; a dead link must end in an error, not a wait.
    props.setProperty("socketTimeout", "30");
    return java.sql.DriverManager.getConnection(pool.getJdbcUrl(), props);
  }

  public DataSource dataSource() {
    return pool;
  }

  /** Whether a trivial query answers within a second. */
  public boolean ready() {
    try (Connection c = pool.getConnection();
        Statement st = c.createStatement()) {
      st.setQueryTimeout(1);
      st.execute("SELECT 1");
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() {
    pool.close();
    if (embedded != null) {
      embedded.close();
    }
  }
}

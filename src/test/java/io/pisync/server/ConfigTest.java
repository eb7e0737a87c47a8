package io.pisync.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTest {
  @TempDir Path dir;

  @Test
  void defaultsAreTheDocumentedOnes() {
    Config c = Config.load(Map.of("PISYNC_CONFIG_FILE", ""));
    assertThat(c.port()).isEqualTo(8080);
    assertThat(c.dataDir()).isEqualTo(Path.of("./pisync-data"));
    assertThat(c.embedded()).isTrue();
    assertThat(c.maxBatchEvents()).isEqualTo(1000);
  }

  @Test
  void environmentWinsOverTheFileWhichWinsOverDefaults() throws Exception {
    Path file = dir.resolve("pisync.properties");
    Files.writeString(file, "port=9000\ndata.dir=/srv/pisync\ndb.pool.size=20\n");
    Config c = Config.load(Map.of("PISYNC_CONFIG_FILE", file.toString(), "PISYNC_PORT", "9100"));
    assertThat(c.port()).isEqualTo(9100);
    assertThat(c.dataDir()).isEqualTo(Path.of("/srv/pisync"));
    assertThat(c.dbPoolSize()).isEqualTo(20);
  }

  @Test
  void anExternalDatabaseComesWithItsCredentials() {
    Config c =
        Config.load(
            Map.of(
                "PISYNC_DB_URL", "jdbc:postgresql://db.internal:5432/pisync",
                "PISYNC_DB_USER", "pisync",
                "PISYNC_DB_PASSWORD", "s3cret"));
    assertThat(c.embedded()).isFalse();
    assertThat(c.dbUser()).contains("pisync");
    assertThat(c.dbPassword()).contains("s3cret");
  }

  @Test
  void everyInvalidSettingIsReportedAtOnce() {
    assertThatThrownBy(() ->
            Config.load(
                Map.of(
                    "PISYNC_PORT", "eighty",
                    "PISYNC_DB_POOL_SIZE", "0",
                    "PISYNC_DB_URL", "mysql://x?password=hunter2",
                    "PISYNC_MAX_BODY_BYTES", "-5",
                    "PISYNC_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example.com")))
        .isInstanceOfSatisfying(
            Config.InvalidConfigException.class,
            e -> {
              assertThat(e.problems()).hasSize(5);
              assertThat(e.getMessage())
                  .contains("PISYNC_PORT must be a whole number (got 'eighty')")
                  .contains("PISYNC_DB_POOL_SIZE must be between 2 and 500 (got 0)")
                  .contains("PISYNC_DB_URL must start with jdbc:postgresql://")
                  .contains("PISYNC_MAX_BODY_BYTES")
                  .contains("PISYNC_TRUSTED_PROXIES must list IP addresses or ranges")
                  .contains("'proxy.example.com'")
                  .doesNotContain("hunter2");
            });
  }

  @Test
  void aMissingNamedConfigFileIsAProblem() {
    assertThatThrownBy(() -> Config.load(Map.of("PISYNC_CONFIG_FILE", "/nonexistent/p.properties")))
        .hasMessageContaining("/nonexistent/p.properties");
  }

  @Test
  void aMisspeltVariableIsReportedInsteadOfIgnored() {
    assertThatThrownBy(() -> Config.load(Map.of("PISYNC_PROT", "9000")))
        .hasMessageContaining("unknown setting PISYNC_PROT")
        .hasMessageContaining("PISYNC_PORT");
    Config c = Config.load(Map.of("PISYNC_LOG_LEVEL", "WARN", "PISYNC_JAVA_OPTS", "-Xmx1g"));
    assertThat(c.port()).isEqualTo(8080);
  }

  @Test
  void databaseCredentialsWithoutAUrlAreAProblem() {
    assertThatThrownBy(() -> Config.load(Map.of("PISYNC_DB_USER", "pisync")))
        .hasMessageContaining("PISYNC_DB_URL is not");
  }
}

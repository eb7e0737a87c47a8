package io.pisync.server;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedDatabaseTest {
  @TempDir Path dataDir;

  @Test
  void refusesAPortAnotherProgramListensOn() throws Exception {
    try (var other = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> EmbeddedDatabase.start(dataDir, other.getLocalPort()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("PISYNC_EMBEDDED_DB_PORT " + other.getLocalPort())
          .hasMessageContaining("already in use");
    }
  }
}

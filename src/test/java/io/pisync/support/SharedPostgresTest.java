package io.pisync.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A killed test run's database files must not pile up in the temp directory run after run. */
class SharedPostgresTest {

  @Test
  void filesOfAKilledRunAreRemovedAndThoseOfLiveRunsKept(@TempDir Path temp) throws Exception {
    Process exited = new ProcessBuilder("true").start();
    exited.waitFor();
    Path killedRun = owned(temp.resolve("pisync-test-pg111"), exited.pid() + " 2026-01-01T00:00Z");
    Path liveRun =
        owned(temp.resolve("pisync-test-pg222"), SharedPostgres.tag(ProcessHandle.current()));
    Path startingRun = Files.createDirectories(temp.resolve("pisync-test-pg333"));
    Path notOurs = owned(temp.resolve("other-dir"), exited.pid() + " 2026-01-01T00:00Z");
    Files.createDirectories(killedRun.resolve("pg"));
    Files.writeString(killedRun.resolve("pg").resolve("PG_VERSION"), "18\n");

    SharedPostgres.removeAbandoned(temp);

    assertThat(killedRun).doesNotExist();
    assertThat(liveRun).isDirectory();
    assertThat(startingRun).isDirectory();
    assertThat(notOurs).isDirectory();
  }

  @Test
  void aPidGivenToAnotherProcessSinceDoesNotKeepTheFiles(@TempDir Path temp) throws Exception {
    // This JVM's pid with another start time: the run that wrote it is gone.
    Path reused =
        owned(
            temp.resolve("pisync-test-pg444"),
            ProcessHandle.current().pid() + " 2001-01-01T00:00Z");

    SharedPostgres.removeAbandoned(temp);

    assertThat(reused).doesNotExist();
  }

  @Test
  void aPidFileNamingAnotherProgramStopsNothing(@TempDir Path temp) throws Exception {
    Process other = new ProcessBuilder("sleep", "30").start();
    try {
      Path cluster = Files.createDirectories(temp.resolve("pg"));
      Files.writeString(cluster.resolve("postmaster.pid"), other.pid() + "\n" + cluster + "\n");

      io.pisync.server.EmbeddedDatabase.stopLeftover(temp);

      assertThat(other.isAlive()).as("not postgres: left alone").isTrue();
    } finally {
      other.destroyForcibly();
    }
  }

  private static Path owned(Path dir, String tag) throws Exception {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("owner"), tag);
    return dir;
  }
}

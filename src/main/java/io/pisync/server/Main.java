package io.pisync.server;

import java.time.InstantSource;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code pisync} command line. */
@Command(
    name = "pisync",
    mixinStandardHelpOptions = true,
    version = "PiSync 0.1.0",
    description = "Sync server for offline learning devices.",
    subcommands = {
      Main.Serve.class,
      Main.ConfigHelp.class,
      AdminCommands.User.class,
      AdminCommands.Device.class
    })
public final class Main implements Runnable {

  public static void main(String[] args) {
    boolean serving = args.length > 0 && args[0].equals("serve");
    if (!serving && System.getenv("PISYNC_LOG_LEVEL") == null) {
      // The admin commands print what they did; the server's INFO lines (pool, schema) would bury
      // it. Set before the first logger exists: logback.xml reads it as ${PISYNC_LOG_LEVEL}.
      System.setProperty("PISYNC_LOG_LEVEL", "WARN");
    }
    int code = new CommandLine(new Main()).execute(args);
    stopLogging();
    System.exit(code);
  }

  /** Writes the log lines still queued (the log writer batches them) and stops logging. */
  static void stopLogging() {
    if (org.slf4j.LoggerFactory.getILoggerFactory()
        instanceof ch.qos.logback.classic.LoggerContext logback) {
      logback.stop();
    }
  }

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }

  /** {@code pisync serve}: runs the server until stopped. */
  @Command(name = "serve", description = "Start the server (settings: PISYNC_* variables).")
  static final class Serve implements Callable<Integer> {
    @Override
    public Integer call() throws InterruptedException {
      Config config;
      try {
        config = Config.fromEnvironment();
      } catch (Config.InvalidConfigException e) {
        System.err.println(e.getMessage());
        return 2;
      }
      PiSyncServer server;
      try {
        server = PiSyncServer.start(config, InstantSource.system());
      } catch (RuntimeException e) {
        System.err.println("PiSync could not start: " + rootMessage(e));
        org.slf4j.LoggerFactory.getLogger(Main.class).error("startup failed", e);
        return 1;
      }
      var stopped = new CountDownLatch(1);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try {
                      server.close();
                    } finally {
                      stopLogging(); // also after a failed close(): the lines it logged
                      stopped.countDown();
                    }
                  },
                  "pisync-shutdown"));
      stopped.await();
      return 0;
    }

    private static String rootMessage(Throwable e) {
      StringBuilder message = new StringBuilder(String.valueOf(e.getMessage()));
      for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
        message.append("\n  caused by: ").append(t.getMessage());
      }
      return message.toString();
    }
  }

  /** {@code pisync config}: lists every setting with its default. */
  @Command(name = "config", description = "List the settings and their defaults.")
  static final class ConfigHelp implements Runnable {
    @Override
    public void run() {
      for (Config.Setting s : Config.Setting.values()) {
        System.out.printf(
            "%-30s %-16s %s%n",
            s.envName(), s.defaultValue() == null ? "(unset)" : s.defaultValue(), s.description());
      }
    }
  }
}

package io.pisync.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Executors;
import net.logstash.logback.argument.StructuredArguments;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The access log's appender, on a logger context of its own writing to a captured stdout. */
class BatchingStdoutAppenderTest {
  private final PrintStream realOut = System.out;
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private final LoggerContext context = new LoggerContext();
  private Logger log;

  @BeforeEach
  void start() {
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
    var encoder = new LogstashEncoder();
    encoder.setContext(context);
    encoder.start();
    var appender = new BatchingStdoutAppender();
    appender.setContext(context);
    appender.setEncoder(encoder);
    appender.setQueueSize(64); // smaller than what is logged: logging threads must wait, not drop
    appender.start();
    log = context.getLogger("test");
    log.setLevel(Level.INFO);
    log.addAppender(appender);
  }

  @AfterEach
  void restore() {
    System.setOut(realOut);
  }

  private List<String> lines() {
    return captured.toString(StandardCharsets.UTF_8).lines().toList();
  }

  @Test
  void everyLineFromManyThreadsIsWrittenWholeByTheStop() throws Exception {
    try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int t = 0; t < 8; t++) {
        int thread = t;
        threads.submit(() -> {
          for (int i = 0; i < 500; i++) log.info("line {} {}", thread, i);
        });
      }
    }
    context.stop();

    List<String> lines = lines();
    assertThat(lines).hasSize(8 * 500).allMatch(l -> l.startsWith("{") && l.endsWith("}"));
    assertThat(lines).anyMatch(l -> l.contains("\"message\":\"line 7 499\""));
  }

  @Test
  void anEventThatCannotBeEncodedLosesOnlyItsOwnLine() {
    log.info("before");
    log.info("broken {}", StructuredArguments.kv("value", new Unserializable()));
    log.info("after");
    context.stop();

    assertThat(lines())
        .hasSize(2)
        .satisfiesExactly(
            l -> assertThat(l).contains("\"message\":\"before\""),
            l -> assertThat(l).contains("\"message\":\"after\""));
  }

  /** Jackson reads its getter while encoding the line, and the getter throws. */
  public static final class Unserializable {
    public String getValue() {
      throw new IllegalStateException("cannot be read");
    }
  }
}

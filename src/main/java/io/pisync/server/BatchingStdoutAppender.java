package io.pisync.server;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Writes log lines to stdout from one thread, many lines per write. Logback's AsyncAppender wakes
 * its writer thread for nearly every line and writes each line with its own system call; at ten
 * thousand requests a second that hand-off, those writes and the encoding took 13% of the JVM's CPU
 * (async-profiler, docs/PERFORMANCE.md). Here the writer, once woken by a line, lingers a few
 * milliseconds while more arrive (logging threads do not wake it meanwhile), then encodes them all
 * and writes them in as few writes as fit (64 KiB each). A line reaches stdout about {@code
 * lingerMillis} (plus the encoding) after it is logged; a full queue makes the logging thread wait
 * rather than drop the line.
 */
public final class BatchingStdoutAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
  private static final int WRITE_BYTES = 64 * 1024;

  private Encoder<ILoggingEvent> encoder;
  private int queueSize = 16_384;
  private int lingerMillis = 5;
  private BlockingQueue<ILoggingEvent> queue;
  private final ByteArrayOutputStream lines = new ByteArrayOutputStream(2 * WRITE_BYTES);
  private Thread writer;

  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

  public void setQueueSize(int queueSize) {
    this.queueSize = queueSize;
  }

  public void setLingerMillis(int lingerMillis) {
    this.lingerMillis = lingerMillis;
  }

  @Override
  public void start() {
    if (encoder == null) {
      addError("no encoder for appender " + name);
      return;
    }
    if (queueSize < 1 || lingerMillis < 0) {
      addError("queueSize must be >= 1 and lingerMillis >= 0 for appender " + name);
      return;
    }
    queue = new ArrayBlockingQueue<>(queueSize);
    super.start();
    writer = Thread.ofPlatform().daemon().name("pisync-log-writer").start(this::writeUntilStopped);
  }

  @Override
  protected void append(ILoggingEvent event) {
    // Message, arguments and thread name are fixed now, before another thread encodes them.
    event.prepareForDeferredProcessing();
    boolean interrupted = false;
    while (true) {
      try {
        queue.put(event);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void writeUntilStopped() {
    List<ILoggingEvent> batch = new ArrayList<>();
    while (isStarted()) {
      try {
        batch.add(queue.take());
        Thread.sleep(lingerMillis);
      } catch (InterruptedException e) {
        break;
      }
      queue.drainTo(batch);
      try {
        write(batch);
      } catch (Throwable t) {
        // Keep writing: a dead writer would leave every logging thread (every request, through
        // the access log) waiting on a full queue.
        addError("log writer: " + t);
      }
    }
    queue.drainTo(batch);
    write(batch);
  }

  private synchronized void write(List<ILoggingEvent> batch) {
    try {
      // Whole lines per write, 64 KiB at most: System.out's PrintStream flushes after each write.
      for (ILoggingEvent event : batch) {
        encodeInto(event);
        if (lines.size() >= WRITE_BYTES) {
          writeLines();
        }
      }
      writeLines();
    } catch (IOException e) {
      addError("could not write " + batch.size() + " log lines", e);
      lines.reset();
    } finally {
      batch.clear();
    }
  }

  /** One event that cannot be encoded (a throwing toString, say) loses only its own line. */
  private void encodeInto(ILoggingEvent event) {
    byte[] line;
    try {
      line = encoder.encode(event);
    } catch (RuntimeException e) {
      addError("could not encode a log event of " + event.getLoggerName(), e);
      return;
    }
    lines.writeBytes(line);
  }

  private void writeLines() throws IOException {
    if (lines.size() > 0) {
      lines.writeTo(System.out);
      lines.reset();
    }
  }

  /**
   * Writes every line still queued (the writer does; this thread if the writer has died), then
   * stops. A writer stuck on stdout (a reader that no longer reads) is left behind rather than
   * waited for, so the shutdown still ends. A line logged at the very moment of the stop may miss
   * the last write.
   */
  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    super.stop();
    writer.interrupt();
    try {
      writer.join(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (writer.isAlive()) {
      addWarn("the log writer did not finish within 1 s; " + queue.size() + " lines not written");
      return;
    }
    List<ILoggingEvent> left = new ArrayList<>();
    queue.drainTo(left);
    write(left);
  }
}

package io.pisync.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A server-sent event stream as a test reads it: events in arrival order, with arrival times. */
public final class EventStream implements AutoCloseable {
  /** One event; {@code at} is System.nanoTime() when its last line arrived. */
  public record Event(String name, String data, long at) {}

  private final int status;
  private final Map<String, List<String>> headers;
  private final InputStream body;
  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private volatile boolean ended;

  EventStream(int status, Map<String, List<String>> headers, InputStream body) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    Thread.ofVirtual().start(this::read);
  }

  public int status() {
    return status;
  }

  public Map<String, List<String>> headers() {
    return headers;
  }

  public String header(String name) {
    return headers.entrySet().stream()
        .filter(e -> e.getKey().equalsIgnoreCase(name))
        .map(e -> e.getValue().getFirst())
        .findFirst()
        .orElse(null);
  }

  private void read() {
    try (var in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      String name = "message";
      StringBuilder data = new StringBuilder();
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isEmpty()) {
          if (!data.isEmpty()) events.add(new Event(name, data.toString(), System.nanoTime()));
          name = "message";
          data.setLength(0);
        } else if (line.startsWith("event:")) {
          name = line.substring(6).strip();
        } else if (line.startsWith("data:")) {
          data.append(line.substring(5).strip());
        }
      }
    } catch (IOException e) {
      // closed
    } finally {
      ended = true;
    }
  }

  /** The next event, or null when none came within the timeout. */
  public Event next(Duration timeout) {
    try {
      return events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The next event with this name, skipping others; null when none came within the timeout. */
  public Event next(String name, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) return null;
      Event e = next(Duration.ofNanos(left));
      if (e == null || e.name().equals(name)) return e;
    }
  }

  /** Whether the server ended the stream. */
  public boolean ended() {
    return ended;
  }

  @Override
  public void close() {
    try {
      body.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

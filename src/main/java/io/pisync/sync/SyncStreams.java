package io.pisync.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.pisync.http.ApiProblem;
import io.pisync.http.ProblemType;
import io.pisync.server.NoticeListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/v1/sync/stream}: server-sent events that tell a connected device to pull.
 *
 * <p>One thread LISTENs on its own database connection; PostgreSQL delivers each NOTIFY at COMMIT
 * of the change (from any PiSync instance on the database). For each notice the thread pokes the
 * streams whose device can see the change, except the device that made it. Each stream is a request
 * on its own virtual thread, parked until poked or until its heartbeat is due; pokes that arrive
 * while one is being written coalesce into one with the newest feed position.
 */
public final class SyncStreams implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SyncStreams.class);
  private static final byte[] HEARTBEAT =
      "event: heartbeat\ndata: {}\n\n".getBytes(StandardCharsets.US_ASCII);

  /** Devices' scopes are read this many at a time (one query each). */
  private static final int DEVICES_PER_READ = 5_000;

  /**
   * A poke for every stream (the listener reconnected, or a change too wide to name its scopes) is
   * spread over 0.5 ms per stream, at most 5 s: 10,000 devices pulling in the same instant would
   * queue for the database together.
   */
  private static final long SPREAD_MICROS_PER_STREAM = 500;

  private static final long MAX_SPREAD_MICROS = 5_000_000;

  private final ScheduledExecutorService spreader =
      Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().name("pisync-poke-spread").daemon().factory());

  private final NoticeListener listener;
  private final ObjectMapper mapper;
  private final GrantStore grants;
  private final FeedReader feed;
  private final Duration heartbeat;
  private final int maxStreams;
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong pokes = new AtomicLong();
  private volatile boolean closed;

  /**
   * Numbers each reading of scopes before it runs, so a reading numbered after a grant committed
   * sees the grant. (A lower number may still read a later snapshot; keeping the highest number is
   * enough, because every grant's notice starts a new reading for its device.)
   */
  private final AtomicLong readings = new AtomicLong();

  /** A stream's scope names, and the number of the reading they came from. */
  private record Scopes(long reading, Set<String> names) {}

  /** One connected device. */
  private static final class Stream {
    final String device;
    private final AtomicReference<Scopes> scopes = new AtomicReference<>(new Scopes(0, Set.of()));
    final AtomicLong latest = new AtomicLong(-1);
    final BlockingQueue<Boolean> signal = new ArrayBlockingQueue<>(1);

    Stream(String device) {
      this.device = device;
    }

    Set<String> scopes() {
      return scopes.get().names();
    }

    /**
     * Keeps the newer of two readings: one that began before a grant committed never overwrites one
     * that began after it, whichever finishes last.
     */
    void offer(Scopes read) {
      scopes.accumulateAndGet(read, (now, next) -> next.reading() > now.reading() ? next : now);
    }

    void poke(long head) {
      latest.accumulateAndGet(head, Math::max);
      signal.offer(Boolean.TRUE);
    }
  }

  SyncStreams(
      NoticeListener.Connections connections,
      ObjectMapper mapper,
      GrantStore grants,
      FeedReader feed,
      Duration heartbeat,
      int maxStreams) {
    this.listener =
        new NoticeListener(
            Notices.CHANNEL,
            connections,
            new NoticeListener.Handler() {
              @Override
              public void listening() throws SQLException {
                // Notices may have been missed while not listening: grants, and changes.
                reload(List.copyOf(streams));
                pokeAll(feed.head());
              }

              @Override
              public void notice(String payload) throws SQLException {
                dispatch(payload);
              }
            });
    this.mapper = mapper;
    this.grants = grants;
    this.feed = feed;
    this.heartbeat = heartbeat;
    this.maxStreams = maxStreams;
  }

  void start() {
    listener.start();
  }

  /** Streams open now. */
  public int open() {
    return open.get();
  }

  /** Pokes sent since start. */
  public long pokes() {
    return pokes.get();
  }

  // ------------------------------------------------------------------------------ one stream

  /** Serves one stream until the device disconnects or the server stops. */
  void serve(Context ctx, String device) throws SQLException, IOException {
    if (closed) throw unavailable("the server is stopping");
    if (ctx.method() == HandlerType.HEAD) {
      // what a GET would get, without opening a stream
      if (open.get() >= maxStreams) throw unavailable(full());
      begin(ctx.res()).flush(); // sent now, so with no Content-Length, as a stream's would be
      return;
    }
    if (open.incrementAndGet() > maxStreams) {
      open.decrementAndGet();
      throw unavailable(full());
    }
    Stream stream = null;
    try {
      stream = new Stream(device);
      // registered before its scopes are read: a grant that commits in between reloads them
      streams.add(stream);
      reload(List.of(stream));
      long head = feed.head(); // read after registering: no notice falls in between
      ServletOutputStream out = begin(ctx.res());
      out.write(("retry: " + retryMillis() + "\n").getBytes(StandardCharsets.US_ASCII));
      send(out, head);
      run(stream, out);
    } catch (IOException e) {
      log.debug("stream of {} closed: {}", device, e.toString());
    } finally {
      if (stream != null) streams.remove(stream);
      open.decrementAndGet();
    }
  }

  private String full() {
    return maxStreams + " streams are open, the most this server keeps";
  }

  private static ApiProblem unavailable(String why) {
    return ApiProblem.retryLater(
        ProblemType.OVERLOADED,
        why + "; reconnect later",
        10 + ThreadLocalRandom.current().nextInt(20));
  }

  /** Reconnect delay for the device's EventSource: 5-15 s, spread so reconnects do not align. */
  private static long retryMillis() {
    return 5_000 + ThreadLocalRandom.current().nextLong(10_000);
  }

  /** Reads the streams' scopes again, a few thousand devices per query. */
  private void reload(List<Stream> targets) throws SQLException {
    for (int from = 0; from < targets.size(); from += DEVICES_PER_READ) {
      List<Stream> part = targets.subList(from, Math.min(targets.size(), from + DEVICES_PER_READ));
      long reading = readings.incrementAndGet();
      Set<String> devices = new HashSet<>();
      part.forEach(s -> devices.add(s.device));
      Map<String, Set<String>> names = grants.scopeNames(devices);
      for (Stream s : part) {
        s.offer(new Scopes(reading, names.getOrDefault(s.device, Set.of())));
      }
    }
  }

  private static ServletOutputStream begin(HttpServletResponse res) throws IOException {
    res.setStatus(200);
    res.setContentType("text/event-stream;charset=utf-8");
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("X-Accel-Buffering", "no");
    return res.getOutputStream();
  }

  private void run(Stream stream, ServletOutputStream out) throws IOException {
    long wait = heartbeat.toMillis();
    while (!closed) {
      Boolean poked;
      try {
        poked = stream.signal.poll(wait, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (closed) return;
      if (poked == null) {
        out.write(HEARTBEAT);
        out.flush();
      } else {
        send(out, stream.latest.get());
      }
    }
  }

  /**
   * A poke names the feed position the change reached: a plain number, never a cursor. A cursor at
   * the head would let a device that pulled from it skip what it has not been sent yet (changes
   * before the head, a scope's backfill); the device pulls from its own cursor.
   */
  private void send(ServletOutputStream out, long head) throws IOException {
    String event = "event: poke\ndata: {\"head\":" + head + "}\n\n";
    out.write(event.getBytes(StandardCharsets.US_ASCII));
    out.flush();
    pokes.incrementAndGet();
  }

  // ---------------------------------------------------------------------------- the listener

  private void dispatch(String payload) throws SQLException {
    Notices.Notice notice;
    try {
      notice = Notices.parse(mapper, payload);
    } catch (IOException e) {
      log.warn("ignoring a sync notice that does not parse: {}", payload);
      return;
    }
    if (!notice.devices().isEmpty()) {
      reloadScopes(notice.devices());
    }
    if (notice.all()) {
      pokeAll(notice.head());
      return;
    }
    for (Stream s : streams) {
      if (sees(s, notice)) s.poke(notice.head());
    }
  }

  private static boolean sees(Stream s, Notices.Notice notice) {
    if (notice.devices().contains(s.device)) return true;
    if (s.device.equals(notice.by())) return false;
    for (String scope : notice.scopes()) {
      if (s.scopes().contains(scope)) return true;
    }
    return false;
  }

  private void reloadScopes(List<String> devices) throws SQLException {
    Set<String> named = Set.copyOf(devices);
    reload(streams.stream().filter(s -> named.contains(s.device)).toList());
  }

  private void pokeAll(long head) {
    List<Stream> all = List.copyOf(streams);
    long spread = Math.min(MAX_SPREAD_MICROS, all.size() * SPREAD_MICROS_PER_STREAM);
    for (Stream s : all) {
      long delay = spread == 0 ? 0 : ThreadLocalRandom.current().nextLong(spread);
      spreader.schedule(() -> s.poke(head), delay, TimeUnit.MICROSECONDS);
    }
  }

  /** Ends every stream (their requests complete) and stops listening. */
  @Override
  public void close() {
    closed = true;
    spreader.shutdownNow();
    streams.forEach(s -> s.signal.offer(Boolean.TRUE));
    listener.close();
  }
}

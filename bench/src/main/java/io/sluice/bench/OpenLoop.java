package io.sluice.bench;

import io.sluice.diagnose.BaseUrl;
import io.sluice.diagnose.ClosedLoop;
import io.sluice.diagnose.IdRange;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;

/**
 * Open-loop HTTP load, as wrk2 makes it: request {@code i} is due at {@code start + i / rate}, whatever the answers
 * to the earlier ones, and its latency runs from that intended send time to its answer. A server that stalls
 * therefore meets the requests that arrive meanwhile and their waiting is counted, where a closed loop would have
 * stopped sending (coordinated omission). {@code GET /users/{random id}}, one per due time.
 *
 * <p>The first {@code warmup} of the schedule is sent but not recorded; the requests due in the {@code duration}
 * after it are the measured cohort, and the run ends once the last of them has an outcome (an answer, or none within
 * {@code timeout}). The schedule never pauses between the two: the measured cohort meets the backlog that the
 * warm-up built, as arrivals at a steady rate would.
 *
 * <p>The generator must not be what limits the rate: the send lag (actual send minus due time) of the cohort is
 * recorded and reported, and the web client's pool has room for {@link #MAX_CONNECTIONS} connections, far more than
 * the requests a 2 s server deadline leaves in flight at a few hundred per second, so no request waits for a
 * client-side connection.
 *
 * <p>Threading invariant: every mutable field is read and written only on {@link #context}, one event loop: the
 * ticker sends from it and the web client completes each request on the context that sent it. Other threads only
 * await {@link #measuring()} and {@link #result()}.
 */
final class OpenLoop implements AutoCloseable {

  /** Connections the client may open: above the requests in flight at rate × the slowest answer. */
  static final int MAX_CONNECTIONS = 4096;
  /** The ticker's period: due requests are sent on each tick, late by at most this much plus the loop's delay. */
  private static final long TICK_MS = 1;

  /** What to send: {@code ratePerSecond} GETs of random ids, the first {@code warmup} of them unrecorded. */
  record Plan(BaseUrl target, IdRange ids, double ratePerSecond, Duration warmup, Duration duration,
              Duration timeout) {

    Plan {
      if (!(ratePerSecond > 0)) {
        throw new IllegalArgumentException("rate must be above 0, got " + ratePerSecond);
      }
      if (duration.isZero() || duration.isNegative()) {
        throw new IllegalArgumentException("the measured duration must be above 0, got " + duration);
      }
    }
  }

  /**
   * The measured cohort: {@code requests} counts its outcomes by HTTP status ({@code timeout}, {@code error} for none)
   * with latencies from the intended send time (all answers, 2xx, 503); {@code scheduled} is its size, fixed by the
   * rate and the duration alone; {@code sendLag} how late the generator sent them (null when none was sent);
   * {@code maxInFlight} the most requests outstanding at once over the whole run.
   */
  record Result(ClosedLoop.Result requests, long scheduled, ClosedLoop.Latency sendLag, int maxInFlight,
                double windowSeconds) {

    /** 2xx answers of the cohort per second of its window. */
    double goodputPerSecond() {
      return requests.successes() / windowSeconds;
    }
  }

  private final Plan plan;
  private final PrintStream progress;
  private final Vertx vertx;
  private final WebClient client;
  private final Context context;
  private final Promise<Void> measuring = Promise.promise();
  private final Promise<Result> done = Promise.promise();
  private boolean closed;

  // Loop state (see the class comment).
  private final Histogram answeredMicros = new Histogram(3);
  private final Histogram okMicros = new Histogram(3);
  private final Histogram rejectedMicros = new Histogram(3);
  private final Histogram lagMicros = new Histogram(3);
  private final Map<String, Long> counts = new TreeMap<>();
  private long startNanos;
  private long windowStartNanos;
  private long endNanos;
  private long nextIndex;
  private long scheduled;
  private long completed;
  private long successes;
  private long successesWhileSending;
  private int inFlight;
  private int maxInFlight;
  private String firstError;
  private long ticker;
  private long progressTimer;
  private boolean sending = true;

  private OpenLoop(Plan plan, PrintStream progress) {
    this.plan = plan;
    this.progress = progress;
    this.vertx = Vertx.vertx();
    BaseUrl target = plan.target();
    this.client = WebClient.create(vertx, new WebClientOptions().setDefaultHost(target.host())
      .setDefaultPort(target.port()).setSsl(target.ssl()).setUserAgent("sluice-bench-open-loop").setKeepAlive(true),
      new PoolOptions().setHttp1MaxSize(MAX_CONNECTIONS));
    this.context = vertx.getOrCreateContext();
  }

  /** Checks that the target answers ({@code GET /health/live}), then starts the schedule. */
  static OpenLoop start(Plan plan, PrintStream progress) {
    OpenLoop run = new OpenLoop(plan, progress);
    try {
      run.client.get(plan.target().path("/health/live")).timeout(plan.timeout().toMillis()).send().await();
    } catch (Exception e) { // await() rethrows the transport's checked exceptions as they are
      run.close();
      throw new IllegalStateException("cannot reach " + plan.target() + ": " + ClosedLoop.describe(e), e);
    }
    run.context.runOnContext(v -> run.launch());
    return run;
  }

  /** Completes when the warm-up part of the schedule is over and the measured cohort begins. */
  Future<Void> measuring() {
    return measuring.future();
  }

  Future<Result> result() {
    return done.future();
  }

  /** Closes the run's Vert.x instance, and with it any request still in flight. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      vertx.close().await();
    }
  }

  private void launch() {
    startNanos = System.nanoTime();
    windowStartNanos = startNanos + plan.warmup().toNanos();
    endNanos = windowStartNanos + plan.duration().toNanos();
    progressTimer = vertx.setPeriodic(ClosedLoop.PROGRESS_PERIOD_MS, id -> printProgress());
    ticker = vertx.setPeriodic(TICK_MS, id -> tick());
    tick();
  }

  /** Sends every request due by now; stops the ticker once the schedule is over. */
  private void tick() {
    long now = System.nanoTime();
    while (sending) {
      long due = dueNanos(nextIndex);
      if (due >= endNanos) {
        sending = false;
        vertx.cancelTimer(ticker);
        measuring.tryComplete();
        if (inFlight == 0) {
          finish();
        }
        return;
      }
      if (due > now) {
        return;
      }
      nextIndex++;
      send(due);
    }
  }

  private long dueNanos(long index) {
    return startNanos + (long) (index * 1e9 / plan.ratePerSecond());
  }

  private void send(long due) {
    boolean measured = due >= windowStartNanos;
    if (measured) {
      measuring.tryComplete();
      scheduled++;
      lagMicros.recordValue(Math.max(0, System.nanoTime() - due) / 1000);
    }
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    client.get(plan.target().path("/users/" + plan.ids().pick()))
      .timeout(plan.timeout().toMillis())
      .send()
      .onComplete(ar -> {
        inFlight--;
        if (measured) {
          record(ar, System.nanoTime() - due);
        }
        if (!sending && inFlight == 0) {
          finish();
        }
      });
  }

  private void record(AsyncResult<HttpResponse<Buffer>> ar, long nanosSinceDue) {
    completed++;
    long micros = nanosSinceDue / 1000;
    if (ar.failed()) {
      counts.merge(ar.cause() instanceof TimeoutException ? "timeout" : ClosedLoop.ERROR, 1L, Long::sum);
      if (firstError == null) {
        firstError = ClosedLoop.describe(ar.cause());
      }
      return;
    }
    int status = ar.result().statusCode();
    counts.merge(String.valueOf(status), 1L, Long::sum);
    answeredMicros.recordValue(micros);
    if (status / 100 == 2) {
      okMicros.recordValue(micros);
      successes++;
      if (System.nanoTime() < endNanos) {
        successesWhileSending++;
      }
    } else if (status == 503) {
      rejectedMicros.recordValue(micros);
    }
  }

  private void finish() {
    if (done.future().isComplete()) {
      return;
    }
    vertx.cancelTimer(progressTimer);
    measuring.tryComplete();
    ClosedLoop.Result requests = new ClosedLoop.Result(System.nanoTime() - windowStartNanos, completed,
      Collections.unmodifiableMap(new TreeMap<>(counts)), latency(answeredMicros), latency(okMicros),
      latency(rejectedMicros), successes, successesWhileSending, firstError);
    done.complete(new Result(requests, scheduled, latency(lagMicros), maxInFlight,
      plan.duration().toNanos() / 1e9));
  }

  private void printProgress() {
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    progress.printf(Locale.ROOT, "[bench] open loop %6.1f s  %s  %d sent  %d in flight  2xx: %d  503: %d%n", elapsed,
      System.nanoTime() < windowStartNanos ? "warm-up" : "measured", nextIndex, inFlight, successes,
      counts.getOrDefault("503", 0L));
  }

  /** Percentiles of a histogram of microseconds, in milliseconds; null when it is empty. */
  static ClosedLoop.Latency latency(Histogram micros) {
    if (micros.getTotalCount() == 0) {
      return null;
    }
    return new ClosedLoop.Latency(micros.getValueAtPercentile(50) / 1000.0,
      micros.getValueAtPercentile(90) / 1000.0, micros.getValueAtPercentile(99) / 1000.0,
      micros.getValueAtPercentile(99.9) / 1000.0, micros.getMaxValue() / 1000.0);
  }
}

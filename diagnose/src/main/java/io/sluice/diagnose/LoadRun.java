package io.sluice.diagnose;

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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;

/**
 * Closed-loop HTTP load: {@code concurrency} workers, each sending its next request as soon as its previous one has
 * an outcome, until the request budget or the duration runs out (whichever first). Requests in flight at that point
 * finish and are counted. The run owns its {@link Vertx} from {@link #start} to {@link #close}.
 *
 * <p>Threading invariant: every mutable field below is read and written only on {@link #context}, one event loop.
 * That is why the histogram and the counters need no locking. The calling thread only awaits {@link #halfway()} and
 * {@link #result()}; the result is an immutable record built on the event loop.
 */
final class LoadRun implements AutoCloseable {

  /**
   * What to send and for how long. {@code maxRequests} and {@code duration} may each be null (not both).
   * {@code sweep}: ids in order from the first instead of at random (with {@code maxRequests} = the range, every id
   * once: fills a cache).
   */
  record Plan(BaseUrl target, Scenario scenario, IdRange ids, int concurrency, Long maxRequests, Duration duration,
              Duration timeout, boolean sweep) {

    Plan(BaseUrl target, Scenario scenario, IdRange ids, int concurrency, Long maxRequests, Duration duration,
         Duration timeout) {
      this(target, scenario, ids, concurrency, maxRequests, duration, timeout, false);
    }

    String limit() {
      String requests = maxRequests == null ? null : maxRequests + " requests";
      String time = duration == null ? null : Report.duration(duration);
      return requests == null ? time : time == null ? requests : requests + " or " + time + ", whichever first";
    }
  }

  /** Latency percentiles of answered requests, in milliseconds. */
  record Latency(double p50, double p90, double p99, double p999, double max) {
  }

  /** Retry-After seconds seen on 503 answers; {@code min}/{@code max} are null when none carried a number. */
  record RetryAfter(Long min, Long max, long missing) {
  }

  /**
   * Outcome of the run. {@code statusCounts} is keyed by HTTP status, plus {@code error} and {@code timeout} for
   * requests that got no answer. {@code latency} covers answered requests only (null when there were none):
   * a timeout's "latency" is the timeout itself and would only hide the answers' shape. {@code ok} (2xx) and
   * {@code rejected} (503) split it by outcome, because under overload a fast 503 and a slow success averaged
   * together describe neither. {@code okWhileSending} counts the 2xx answers that arrived before the duration
   * ended, before the drain of the requests still in flight: the steady-state part of the run.
   */
  record Result(long elapsedNanos, long total, Map<String, Long> statusCounts, Latency latency, RetryAfter retryAfter,
                String firstError, Latency ok, Latency rejected, long okWhileSending) {

    static final String ERROR = "error";
    static final String TIMEOUT = "timeout";

    long count(String status) {
      return statusCounts.getOrDefault(status, 0L);
    }

    double throughput() {
      return elapsedNanos == 0 ? 0 : total * 1e9 / elapsedNanos;
    }

    double rate503Percent() {
      return total == 0 ? 0 : count("503") * 100.0 / total;
    }
  }

  private static final Logger log = LoggerFactory.getLogger(LoadRun.class);
  private static final long PROGRESS_PERIOD_MS = 1000;

  private final Plan plan;
  private final PrintStream progress;
  private final Vertx vertx;
  private final WebClient client;
  private final Context context;
  private final Promise<Void> halfway = Promise.promise();
  private final Promise<Result> done = Promise.promise();
  private boolean closed;

  // Event-loop state (see the class comment).
  private final Histogram latencyMicros = new Histogram(3);
  private final Histogram okMicros = new Histogram(3);
  private final Histogram rejectedMicros = new Histogram(3);
  private long okWhileSending;
  private final Map<String, Long> statusCounts = new TreeMap<>();
  private long startNanos;
  private long started;
  private long completed;
  private int inFlight;
  private long retryAfterMin = Long.MAX_VALUE;
  private long retryAfterMax = Long.MIN_VALUE;
  private long retryAfterMissing;
  private String firstError;
  private long progressTimer;
  private long lastProgressCompleted;

  private LoadRun(Plan plan, PrintStream progress) {
    this.plan = plan;
    this.progress = progress;
    this.vertx = Vertx.vertx();
    BaseUrl target = plan.target();
    WebClientOptions options = new WebClientOptions().setDefaultHost(target.host()).setDefaultPort(target.port())
      .setSsl(target.ssl()).setUserAgent("sluice-diagnose").setKeepAlive(true);
    // One connection per worker: no request waits for a client-side connection, so latency is the server's.
    this.client = WebClient.create(vertx, options, new PoolOptions().setHttp1MaxSize(plan.concurrency()));
    this.context = vertx.getOrCreateContext();
  }

  /**
   * Checks that the target answers HTTP at all ({@code GET /health/live}, any status), then starts the workers.
   * An unreachable target is {@link CannotRun}: thousands of identical connection errors diagnose nothing.
   */
  static LoadRun start(Plan plan, PrintStream progress) {
    LoadRun run = new LoadRun(plan, progress);
    try {
      run.preflight();
    } catch (RuntimeException e) {
      run.close();
      throw e;
    }
    run.context.runOnContext(v -> run.launch());
    return run;
  }

  /** Completes once half the budget (requests or time) is used, or at the end: when a DB snapshot is worth taking. */
  Future<Void> halfway() {
    return halfway.future();
  }

  Future<Result> result() {
    return done.future();
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      vertx.close().await();
    }
  }

  private void preflight() {
    try {
      client.get(plan.target().path("/health/live")).timeout(plan.timeout().toMillis()).send().await();
    } catch (Exception e) { // await() rethrows the transport's checked exceptions (ConnectException) as they are
      throw new CannotRun("cannot reach " + plan.target() + ": " + describe(e));
    }
  }

  private void launch() {
    startNanos = System.nanoTime();
    if (plan.duration() != null) {
      vertx.setTimer(Math.max(1, plan.duration().toMillis() / 2), id -> halfway.tryComplete());
    }
    progressTimer = vertx.setPeriodic(PROGRESS_PERIOD_MS, id -> printProgress());
    for (int i = 0; i < plan.concurrency(); i++) {
      next();
    }
  }

  /** One worker's step: send the next request if the budget allows, else end the run once nothing is in flight. */
  private void next() {
    if (!budgetLeft()) {
      if (inFlight == 0) {
        finish();
      }
      return;
    }
    long id = plan.sweep() ? plan.ids().first() + started : plan.ids().pick();
    started++;
    inFlight++;
    long sentAt = System.nanoTime();
    client.get(plan.target().path(plan.scenario().path(id, started)))
      .timeout(plan.timeout().toMillis())
      .send()
      .onComplete(ar -> {
        inFlight--;
        record(ar, System.nanoTime() - sentAt);
        next();
      });
  }

  private boolean budgetLeft() {
    boolean requestsLeft = plan.maxRequests() == null || started < plan.maxRequests();
    boolean timeLeft = plan.duration() == null || System.nanoTime() - startNanos < plan.duration().toNanos();
    return requestsLeft && timeLeft;
  }

  private void record(AsyncResult<HttpResponse<Buffer>> ar, long nanos) {
    completed++;
    if (ar.succeeded()) {
      HttpResponse<Buffer> response = ar.result();
      long micros = nanos / 1000;
      latencyMicros.recordValue(micros);
      count(String.valueOf(response.statusCode()));
      if (response.statusCode() / 100 == 2) {
        okMicros.recordValue(micros);
        if (plan.duration() == null || System.nanoTime() - startNanos <= plan.duration().toNanos()) {
          okWhileSending++;
        }
      } else if (response.statusCode() == 503) {
        rejectedMicros.recordValue(micros);
        noteRetryAfter(response.getHeader("Retry-After"));
      }
    } else {
      // The web client fails a request that got no byte within its timeout with a java.util.concurrent one.
      count(ar.cause() instanceof TimeoutException ? Result.TIMEOUT : Result.ERROR);
      if (firstError == null) {
        firstError = describe(ar.cause());
        log.debug("First failed request", ar.cause());
      }
    }
    if (plan.maxRequests() != null && completed * 2 >= plan.maxRequests()) {
      halfway.tryComplete();
    }
  }

  private void count(String status) {
    statusCounts.merge(status, 1L, Long::sum);
  }

  /** Only delta-seconds are counted; an HTTP-date (which Sluice never sends) counts as missing. */
  private void noteRetryAfter(String header) {
    try {
      long seconds = Long.parseLong(header == null ? "" : header.trim());
      retryAfterMin = Math.min(retryAfterMin, seconds);
      retryAfterMax = Math.max(retryAfterMax, seconds);
    } catch (NumberFormatException e) {
      retryAfterMissing++;
    }
  }

  private void printProgress() {
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    double perSecond = (completed - lastProgressCompleted) * 1000.0 / PROGRESS_PERIOD_MS;
    lastProgressCompleted = completed;
    progress.printf(Locale.ROOT, "[diagnose] %6.1f s  %d completed  %.0f req/s  503: %d%n", elapsed, completed,
      perSecond, statusCounts.getOrDefault("503", 0L));
  }

  private void finish() {
    if (done.future().isComplete()) {
      return;
    }
    vertx.cancelTimer(progressTimer);
    halfway.tryComplete();
    done.complete(new Result(System.nanoTime() - startNanos, completed,
      Collections.unmodifiableMap(new TreeMap<>(statusCounts)), latency(latencyMicros),
      retryAfter(), firstError, latency(okMicros), latency(rejectedMicros), okWhileSending));
  }

  private static Latency latency(Histogram micros) {
    if (micros.getTotalCount() == 0) {
      return null;
    }
    return new Latency(millis(micros.getValueAtPercentile(50)), millis(micros.getValueAtPercentile(90)),
      millis(micros.getValueAtPercentile(99)), millis(micros.getValueAtPercentile(99.9)),
      millis(micros.getMaxValue()));
  }

  private RetryAfter retryAfter() {
    boolean seen = retryAfterMin != Long.MAX_VALUE;
    return new RetryAfter(seen ? retryAfterMin : null, seen ? retryAfterMax : null, retryAfterMissing);
  }

  private static double millis(long micros) {
    return micros / 1000.0;
  }

  static String describe(Throwable t) {
    String message = t.getMessage();
    return message == null || message.isBlank() ? t.getClass().getSimpleName() : message.lines().findFirst().orElse("");
  }
}

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

import java.io.PrintStream;
import java.time.Duration;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;

/**
 * {@link LoadRun}'s closed loop, extended for the bench: answers are timed in one histogram per outcome (2xx, 503,
 * anything else) besides the overall one, because under overload a fast 503 and a slow success averaged together
 * describe neither. It also has a sweep mode: every id of the range once, in order, to fill a cache. LoadRun itself is
 * final and records into one private histogram, so the loop is repeated here with the same choices: one client
 * connection per worker, the same histogram precision, requests in flight at the end awaited and counted.
 *
 * <p>Threading invariant, as in LoadRun: every mutable field is touched only on {@link #context}, one event loop.
 */
final class OutcomeLoadRun implements AutoCloseable {

  /** {@code duration} null: sweep the id range once instead of picking ids at random for a time. */
  record Plan(BaseUrl target, IdRange ids, int concurrency, Duration duration, Duration timeout) {

    boolean sweep() {
      return duration == null;
    }
  }

  /**
   * Latencies cover answered requests only; each is null when no answer of its kind came. {@code okWhileSending}
   * counts the 2xx answers that arrived before the duration ended, that is before the drain of the requests still
   * in flight: the steady-state part of the run.
   */
  record Result(long elapsedNanos, long total, Map<String, Long> statusCounts, LoadRun.Latency all,
                LoadRun.Latency ok, LoadRun.Latency rejected, long okWhileSending, String firstError) {
  }

  private static final long PROGRESS_PERIOD_MS = 1000;

  private final Plan plan;
  private final PrintStream progress;
  private final Vertx vertx;
  private final WebClient client;
  private final Context context;
  private final Promise<Result> done = Promise.promise();
  private boolean closed;

  // Event-loop state (see the class comment).
  private final Histogram all = new Histogram(3);
  private final Histogram ok = new Histogram(3);
  private final Histogram rejected = new Histogram(3);
  private final Map<String, Long> statusCounts = new TreeMap<>();
  private long startNanos;
  private long started;
  private long completed;
  private long okWhileSending;
  private int inFlight;
  private String firstError;
  private long progressTimer;
  private long lastProgressCompleted;

  private OutcomeLoadRun(Plan plan, PrintStream progress) {
    this.plan = plan;
    this.progress = progress;
    this.vertx = Vertx.vertx();
    BaseUrl target = plan.target();
    WebClientOptions options = new WebClientOptions().setDefaultHost(target.host()).setDefaultPort(target.port())
      .setSsl(target.ssl()).setUserAgent("sluice-bench").setKeepAlive(true);
    this.client = WebClient.create(vertx, options, new PoolOptions().setHttp1MaxSize(plan.concurrency()));
    this.context = vertx.getOrCreateContext();
  }

  /** Checks that the target answers {@code GET /health/live}, then starts the workers. */
  static OutcomeLoadRun start(Plan plan, PrintStream progress) {
    OutcomeLoadRun run = new OutcomeLoadRun(plan, progress);
    try {
      run.client.get(plan.target().path("/health/live")).timeout(plan.timeout().toMillis()).send().await();
    } catch (Exception e) { // await() rethrows the transport's checked exceptions as they are
      run.close();
      throw new CannotRun("cannot reach " + plan.target() + ": " + LoadRun.describe(e));
    }
    run.context.runOnContext(v -> run.launch());
    return run;
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

  private void launch() {
    startNanos = System.nanoTime();
    progressTimer = vertx.setPeriodic(PROGRESS_PERIOD_MS, id -> printProgress());
    for (int i = 0; i < plan.concurrency(); i++) {
      next();
    }
  }

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
    client.get(plan.target().path(Scenario.USER.path(id, started)))
      .timeout(plan.timeout().toMillis())
      .send()
      .onComplete(ar -> {
        inFlight--;
        record(ar, System.nanoTime() - sentAt);
        next();
      });
  }

  private boolean budgetLeft() {
    if (plan.sweep()) {
      return started < plan.ids().last() - plan.ids().first() + 1;
    }
    return System.nanoTime() - startNanos < plan.duration().toNanos();
  }

  private void record(AsyncResult<HttpResponse<Buffer>> ar, long nanos) {
    completed++;
    if (ar.succeeded()) {
      int status = ar.result().statusCode();
      long micros = nanos / 1000;
      all.recordValue(micros);
      if (status / 100 == 2) {
        ok.recordValue(micros);
        if (plan.sweep() || System.nanoTime() - startNanos <= plan.duration().toNanos()) {
          okWhileSending++;
        }
      } else if (status == 503) {
        rejected.recordValue(micros);
      }
      count(String.valueOf(status));
    } else {
      count(ar.cause() instanceof TimeoutException ? LoadRun.Result.TIMEOUT : LoadRun.Result.ERROR);
      if (firstError == null) {
        firstError = LoadRun.describe(ar.cause());
      }
    }
  }

  private void count(String status) {
    statusCounts.merge(status, 1L, Long::sum);
  }

  private void printProgress() {
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    double perSecond = (completed - lastProgressCompleted) * 1000.0 / PROGRESS_PERIOD_MS;
    lastProgressCompleted = completed;
    progress.printf(Locale.ROOT, "[bench] %6.1f s  %d completed  %.0f req/s  2xx: %d  503: %d%n", elapsed, completed,
      perSecond, ok.getTotalCount(), rejected.getTotalCount());
  }

  private void finish() {
    if (done.future().isComplete()) {
      return;
    }
    vertx.cancelTimer(progressTimer);
    done.complete(new Result(System.nanoTime() - startNanos, completed,
      Collections.unmodifiableMap(new TreeMap<>(statusCounts)), latency(all), latency(ok), latency(rejected),
      okWhileSending, firstError));
  }

  private static LoadRun.Latency latency(Histogram h) {
    if (h.getTotalCount() == 0) {
      return null;
    }
    return new LoadRun.Latency(millis(h.getValueAtPercentile(50)), millis(h.getValueAtPercentile(90)),
      millis(h.getValueAtPercentile(99)), millis(h.getValueAtPercentile(99.9)), millis(h.getMaxValue()));
  }

  private static double millis(long micros) {
    return micros / 1000.0;
  }
}

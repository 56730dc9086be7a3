package io.sluice.diagnose;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * Closed-loop HTTP load at a running Sluice: {@link ClosedLoop} with one GET of the {@link Scenario} as its request.
 * An answer is counted under its status (2xx a success, 503 a rejection); a request without one under
 * {@link Result#TIMEOUT} or {@link Result#ERROR}. The run owns its {@link Vertx} from {@link #start} to
 * {@link #close}.
 *
 * <p>Threading: the Retry-After tally is touched only where a response is turned into an outcome, on the loop's
 * context: the web client completes a request on the context that sent it, and the driver sends from its loop.
 */
public final class LoadRun implements AutoCloseable {

  /**
   * What to send and for how long. {@code maxRequests} and {@code duration} may each be null (not both).
   * {@code sweep}: ids in order from the first instead of at random (with {@code maxRequests} = the range, every id
   * once: fills a cache).
   */
  public record Plan(BaseUrl target, Scenario scenario, IdRange ids, int concurrency, Long maxRequests,
                     Duration duration, Duration timeout, boolean sweep) {

    /** Ids at random. */
    public Plan(BaseUrl target, Scenario scenario, IdRange ids, int concurrency, Long maxRequests, Duration duration,
                Duration timeout) {
      this(target, scenario, ids, concurrency, maxRequests, duration, timeout, false);
    }

    ClosedLoop.Budget budget() {
      return new ClosedLoop.Budget(concurrency, maxRequests, duration);
    }

    String limit() {
      String requests = maxRequests == null ? null : maxRequests + " requests";
      String time = duration == null ? null : Report.duration(duration);
      return requests == null ? time : time == null ? requests : requests + " or " + time + ", whichever first";
    }
  }

  /** Retry-After seconds seen on 503 answers; {@code min}/{@code max} are null when none carried a number. */
  public record RetryAfter(Long min, Long max, long missing) {
  }

  /**
   * Outcome of the run. {@code requests} counts by HTTP status, plus {@link #ERROR} and {@link #TIMEOUT} for requests
   * that got no answer; its {@code ok} latency is that of the 2xx answers, its {@code rejected} that of the 503s.
   */
  public record Result(ClosedLoop.Result requests, RetryAfter retryAfter) {

    /** A request that failed without an answer: no connection, a reset. */
    public static final String ERROR = ClosedLoop.ERROR;
    /** A request that got no answer within the plan's timeout. */
    public static final String TIMEOUT = "timeout";

    public double rate503Percent() {
      return requests.total() == 0 ? 0 : requests.count("503") * 100.0 / requests.total();
    }
  }

  private final Plan plan;
  private final PrintStream progress;
  private final Vertx vertx;
  private final WebClient client;
  private final Context context;
  private ClosedLoop loop;
  private Future<Result> result;
  private boolean closed;

  // Loop state (see the class comment).
  private long retryAfterMin = Long.MAX_VALUE;
  private long retryAfterMax = Long.MIN_VALUE;
  private long retryAfterMissing;

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
   * Checks that the target answers HTTP at all ({@code GET /health/live}, any status), then starts the workers;
   * progress lines go to {@code progress} about once a second. An unreachable target is {@link CannotRun}: thousands
   * of identical connection errors diagnose nothing.
   */
  public static LoadRun start(Plan plan, PrintStream progress) {
    LoadRun run = new LoadRun(plan, progress);
    try {
      run.preflight();
    } catch (RuntimeException e) {
      run.close();
      throw e;
    }
    run.loop = ClosedLoop.start(run.context, plan.budget(), run::send, run::printProgress);
    // The driver completes its result on the loop after the last outcome, so the tally read here is final.
    run.result = run.loop.result().map(requests -> new Result(requests, run.retryAfter()));
    return run;
  }

  /** Completes once half the budget (requests or time) is used, or at the end: when a DB snapshot is worth taking. */
  public Future<Void> halfway() {
    return loop.halfway();
  }

  public Future<Result> result() {
    return result;
  }

  /** Closes the run's Vert.x instance, and with it any request still in flight. */
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
      throw new CannotRun("cannot reach " + plan.target() + ": " + ClosedLoop.describe(e));
    }
  }

  /** Request number {@code sequence} (from 1); in a sweep it asks for the id that many places from the first. */
  private Future<ClosedLoop.Outcome> send(long sequence) {
    long id = plan.sweep() ? plan.ids().first() + sequence - 1 : plan.ids().pick();
    return client.get(plan.target().path(plan.scenario().path(id, sequence)))
      .timeout(plan.timeout().toMillis())
      .send()
      .map(this::outcome)
      // The web client fails a request that got no byte within its timeout with a java.util.concurrent one.
      .otherwise(cause -> ClosedLoop.Outcome.noAnswer(cause instanceof TimeoutException ? Result.TIMEOUT
        : Result.ERROR, cause));
  }

  private ClosedLoop.Outcome outcome(HttpResponse<Buffer> response) {
    int status = response.statusCode();
    String label = String.valueOf(status);
    if (status / 100 == 2) {
      return ClosedLoop.Outcome.success(label);
    }
    if (status == 503) {
      noteRetryAfter(response.getHeader("Retry-After"));
      return ClosedLoop.Outcome.rejected(label);
    }
    return ClosedLoop.Outcome.otherAnswer(label);
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

  private RetryAfter retryAfter() {
    boolean seen = retryAfterMin != Long.MAX_VALUE;
    return new RetryAfter(seen ? retryAfterMin : null, seen ? retryAfterMax : null, retryAfterMissing);
  }

  private void printProgress(ClosedLoop.Progress p) {
    progress.printf(Locale.ROOT, "[diagnose] %6.1f s  %d completed  %.0f req/s  503: %d%n", p.elapsedSeconds(),
      p.completed(), p.perSecond(), p.count("503"));
  }
}

package io.sluice.diagnose;

import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A closed-loop load driver: {@code concurrency} workers, each sending its next request as soon as its previous one
 * has an outcome, until the request budget or the duration runs out (whichever first). Requests in flight at that
 * point finish and are counted. What one request is, is handed in ({@link Request}): an HTTP GET for
 * {@link LoadRun}, a statement on a pool for the bench's ceiling. The driver only counts outcomes by label and times
 * them in HdrHistograms, overall and by {@link Outcome.Kind}.
 *
 * <p>Threading invariant: every mutable field is read and written only on {@link #context}, one event loop, so the
 * histograms and counters need no locking. {@link Request#send} is called there; an outcome completed on another
 * thread is handed back to it before it is counted. Other threads only await {@link #halfway()} and
 * {@link #result()}; the result is an immutable record built on the loop.
 *
 * <p>Latency is timed from the actual send, so a stall delays the sends that would have measured it (coordinated
 * omission): the percentiles understate the tail that an open-loop client would see.
 */
public final class ClosedLoop {

  private static final Logger log = LoggerFactory.getLogger(ClosedLoop.class);

  /** How often the progress listener is called. */
  public static final long PROGRESS_PERIOD_MS = 1000;

  /** The label of a request whose future failed without an {@link Outcome}. */
  public static final String ERROR = "error";

  /** One request of the load: called on the driver's loop with its number, from 1. */
  @FunctionalInterface
  public interface Request {
    Future<Outcome> send(long sequence);
  }

  /**
   * How many workers, and for how long: {@code maxRequests} and {@code duration} may each be null, not both.
   */
  public record Budget(int concurrency, Long maxRequests, Duration duration) {

    public Budget {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
      }
      if (maxRequests == null && duration == null) {
        throw new IllegalArgumentException("a budget needs a request count, a duration or both");
      }
    }
  }

  /**
   * What one request came to. {@code label} is what it is counted under (an HTTP status, {@code row}, {@code timeout}
   * …); {@code cause} is set for {@link Kind#NO_ANSWER} only.
   */
  public record Outcome(String label, Kind kind, Throwable cause) {

    /**
     * An answer is timed; a request without one is not, because its "latency" is a timeout or a connection error
     * and would only hide the answers' shape. Successes and rejections are also timed apart: under overload a fast
     * rejection and a slow success averaged together describe neither.
     */
    public enum Kind { SUCCESS, REJECTED, OTHER_ANSWER, NO_ANSWER }

    public static Outcome success(String label) {
      return new Outcome(label, Kind.SUCCESS, null);
    }

    public static Outcome rejected(String label) {
      return new Outcome(label, Kind.REJECTED, null);
    }

    public static Outcome otherAnswer(String label) {
      return new Outcome(label, Kind.OTHER_ANSWER, null);
    }

    public static Outcome noAnswer(String label, Throwable cause) {
      return new Outcome(label, Kind.NO_ANSWER, cause);
    }
  }

  /** Latency percentiles in milliseconds. */
  public record Latency(double p50, double p90, double p99, double p999, double max) {
  }

  /**
   * Called on the loop every {@link #PROGRESS_PERIOD_MS}; {@code counts} is a read-only view, valid during the call.
   */
  public record Progress(double elapsedSeconds, long completed, double perSecond, Map<String, Long> counts) {

    public long count(String label) {
      return counts.getOrDefault(label, 0L);
    }
  }

  /**
   * Outcome of a run. {@code counts} is keyed by outcome label. {@code latency} covers every answer, {@code ok} the
   * successes and {@code rejected} the rejections; each is null when there was none. {@code successesWhileSending}
   * counts the successes that arrived before the duration ended, before the drain of the requests still in flight:
   * the steady-state part of the run (all successes when there is no duration).
   */
  public record Result(long elapsedNanos, long total, Map<String, Long> counts, Latency latency, Latency ok,
                       Latency rejected, long successes, long successesWhileSending, String firstError) {

    public long count(String label) {
      return counts.getOrDefault(label, 0L);
    }

    public double seconds() {
      return elapsedNanos / 1e9;
    }

    public double throughput() {
      return elapsedNanos == 0 ? 0 : total * 1e9 / elapsedNanos;
    }
  }

  private final Context context;
  private final Budget budget;
  private final Request request;
  private final Consumer<Progress> progress;
  private final Promise<Void> halfway = Promise.promise();
  private final Promise<Result> done = Promise.promise();

  // Loop state (see the class comment).
  private final Histogram answeredMicros = new Histogram(3);
  private final Histogram okMicros = new Histogram(3);
  private final Histogram rejectedMicros = new Histogram(3);
  private final Map<String, Long> counts = new TreeMap<>();
  private long startNanos;
  private long started;
  private long completed;
  private int inFlight;
  private long successes;
  private long successesWhileSending;
  private String firstError;
  private long progressTimer;
  private long lastProgressCompleted;

  private ClosedLoop(Context context, Budget budget, Request request, Consumer<Progress> progress) {
    this.context = context;
    this.budget = budget;
    this.request = request;
    this.progress = progress;
  }

  /**
   * Starts the workers on {@code context}, whose Vert.x instance stays the caller's to close (after the result).
   * {@code progress} is called on the loop about once a second.
   */
  public static ClosedLoop start(Context context, Budget budget, Request request, Consumer<Progress> progress) {
    ClosedLoop loop = new ClosedLoop(context, budget, request, progress);
    context.runOnContext(v -> loop.launch());
    return loop;
  }

  /** Completes once half the budget (requests or time) is used, or at the end: when a snapshot is worth taking. */
  public Future<Void> halfway() {
    return halfway.future();
  }

  public Future<Result> result() {
    return done.future();
  }

  private void launch() {
    startNanos = System.nanoTime();
    if (budget.duration() != null) {
      context.owner().setTimer(Math.max(1, budget.duration().toMillis() / 2), id -> halfway.tryComplete());
    }
    progressTimer = context.owner().setPeriodic(PROGRESS_PERIOD_MS, id -> reportProgress());
    for (int i = 0; i < budget.concurrency(); i++) {
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
    started++;
    inFlight++;
    long sentAt = System.nanoTime();
    Future<Outcome> outcome;
    try {
      outcome = request.send(started);
    } catch (RuntimeException e) {
      outcome = Future.failedFuture(e);
    }
    // A future completed already (a request that failed at once) is stepped on through the task queue: calling
    // next() from here would recurse once per request and, with a large budget, overflow the stack.
    boolean completedAlready = outcome.isComplete();
    outcome.onComplete(ar -> onLoop(completedAlready, () -> {
      inFlight--;
      record(ar, System.nanoTime() - sentAt);
      next();
    }));
  }

  private void onLoop(boolean deferred, Runnable step) {
    if (!deferred && Vertx.currentContext() == context) {
      step.run();
    } else {
      context.runOnContext(v -> step.run());
    }
  }

  private boolean budgetLeft() {
    return (budget.maxRequests() == null || started < budget.maxRequests()) && !durationOver();
  }

  private boolean durationOver() {
    return budget.duration() != null && System.nanoTime() - startNanos >= budget.duration().toNanos();
  }

  private void record(AsyncResult<Outcome> ar, long nanos) {
    completed++;
    Outcome outcome = ar.succeeded() ? ar.result() : Outcome.noAnswer(ERROR, ar.cause());
    counts.merge(outcome.label(), 1L, Long::sum);
    long micros = nanos / 1000;
    switch (outcome.kind()) {
      case SUCCESS -> {
        answeredMicros.recordValue(micros);
        okMicros.recordValue(micros);
        successes++;
        if (!durationOver()) {
          successesWhileSending++;
        }
      }
      case REJECTED -> {
        answeredMicros.recordValue(micros);
        rejectedMicros.recordValue(micros);
      }
      case OTHER_ANSWER -> answeredMicros.recordValue(micros);
      case NO_ANSWER -> {
        if (firstError == null) {
          firstError = describe(outcome.cause());
          log.debug("First request without an answer", outcome.cause());
        }
      }
    }
    if (budget.maxRequests() != null && completed * 2 >= budget.maxRequests()) {
      halfway.tryComplete();
    }
  }

  private void reportProgress() {
    double perSecond = (completed - lastProgressCompleted) * 1000.0 / PROGRESS_PERIOD_MS;
    lastProgressCompleted = completed;
    progress.accept(new Progress((System.nanoTime() - startNanos) / 1e9, completed, perSecond,
      Collections.unmodifiableMap(counts)));
  }

  private void finish() {
    if (done.future().isComplete()) {
      return;
    }
    context.owner().cancelTimer(progressTimer);
    halfway.tryComplete();
    done.complete(new Result(System.nanoTime() - startNanos, completed,
      Collections.unmodifiableMap(new TreeMap<>(counts)), latency(answeredMicros), latency(okMicros),
      latency(rejectedMicros), successes, successesWhileSending, firstError));
  }

  private static Latency latency(Histogram micros) {
    if (micros.getTotalCount() == 0) {
      return null;
    }
    return new Latency(millis(micros.getValueAtPercentile(50)), millis(micros.getValueAtPercentile(90)),
      millis(micros.getValueAtPercentile(99)), millis(micros.getValueAtPercentile(99.9)),
      millis(micros.getMaxValue()));
  }

  private static double millis(long micros) {
    return micros / 1000.0;
  }

  /** The first line of the message, or the exception's class when it has none. */
  public static String describe(Throwable t) {
    if (t == null) {
      return "no cause";
    }
    String message = t.getMessage();
    return message == null || message.isBlank() ? t.getClass().getSimpleName() : message.lines().findFirst().orElse("");
  }
}

package io.sluice.bench;

import io.sluice.diagnose.BenchAccess;
import io.sluice.config.JsonSection;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.impl.BenchStatements;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The database's ceiling for the service's hot read: its PK lookup ({@link BenchStatements#SELECT_USER}) issued
 * straight at one Vert.x MySQL pool in this JVM, built from the service's own connect options and default pool
 * settings ({@link PoolSettings#DEFAULT_MAX_SIZE} connections), with closed-loop workers and no HTTP, event bus,
 * admission or cache in between. The pool stays open between runs, so a warm-up run leaves its connections to the
 * measured one.
 *
 * <p>Threading: the pool is used from one event loop, {@link #context}, like the proxy verticle's pool; all loop
 * state below lives on it.
 */
final class CeilingRun implements AutoCloseable {

  private static final long PROGRESS_PERIOD_MS = 1000;

  private final Vertx vertx;
  private final Context context;
  private final Pool pool;
  private final PoolSettings poolSettings;

  private CeilingRun(DbTarget db) {
    this.vertx = Vertx.vertx();
    this.context = vertx.getOrCreateContext();
    this.poolSettings = PoolSettings.from(JsonSection.root(new JsonObject()));
    this.pool = MySQLBuilder.pool().with(poolSettings.toPoolOptions()).connectingTo(db.settings().toConnectOptions())
      .using(vertx).build();
  }

  static CeilingRun open(DbTarget db) {
    return new CeilingRun(db);
  }

  /** What the report says about this pool. */
  JsonObject describe() {
    return new JsonObject().put("statement", BenchStatements.SELECT_USER).put("pool", poolSettings.toJson());
  }

  /** Runs {@code concurrency} workers for {@code duration}; blocks until the statements in flight have ended. */
  BenchAccess.Load run(long firstId, long lastId, int concurrency, Duration duration, PrintStream progress) {
    Loop loop = new Loop(firstId, lastId, concurrency, duration, progress);
    context.runOnContext(v -> loop.launch());
    return loop.done.future().await();
  }

  @Override
  public void close() {
    pool.close().otherwiseEmpty().await();
    vertx.close().await();
  }

  private final class Loop {
    private final long firstId;
    private final long lastId;
    private final int concurrency;
    private final long durationNanos;
    private final PrintStream progress;
    private final Promise<BenchAccess.Load> done = Promise.promise();
    private final Histogram latencyMicros = new Histogram(3);
    private final Map<String, Long> outcomes = new TreeMap<>();
    private long startNanos;
    private long completed;
    private long lastProgressCompleted;
    private int inFlight;
    private long progressTimer;
    private String firstError;

    private Loop(long firstId, long lastId, int concurrency, Duration duration, PrintStream progress) {
      this.firstId = firstId;
      this.lastId = lastId;
      this.concurrency = concurrency;
      this.durationNanos = duration.toNanos();
      this.progress = progress;
    }

    private void launch() {
      startNanos = System.nanoTime();
      progressTimer = vertx.setPeriodic(PROGRESS_PERIOD_MS, id -> printProgress());
      for (int i = 0; i < concurrency; i++) {
        next();
      }
    }

    private void next() {
      if (System.nanoTime() - startNanos >= durationNanos) {
        if (inFlight == 0) {
          finish();
        }
        return;
      }
      inFlight++;
      long sentAt = System.nanoTime();
      long id = ThreadLocalRandom.current().nextLong(firstId, lastId + 1);
      Future<RowSet<Row>> lookup = pool.preparedQuery(BenchStatements.SELECT_USER).execute(Tuple.of(id));
      lookup.onComplete(ar -> onLoop(() -> {
        inFlight--;
        record(ar, System.nanoTime() - sentAt);
        next();
      }));
    }

    /** The pool completes on the caller's context; this only guards the single-thread invariant if it did not. */
    private void onLoop(Runnable step) {
      if (Vertx.currentContext() == context) {
        step.run();
      } else {
        context.runOnContext(v -> step.run());
      }
    }

    private void record(AsyncResult<RowSet<Row>> ar, long nanos) {
      completed++;
      if (ar.succeeded()) {
        latencyMicros.recordValue(nanos / 1000);
        outcomes.merge(ar.result().size() == 1 ? "row" : "no_row", 1L, Long::sum);
      } else {
        outcomes.merge("error", 1L, Long::sum);
        if (firstError == null) {
          firstError = String.valueOf(ar.cause().getMessage());
        }
      }
    }

    private void printProgress() {
      double perSecond = (completed - lastProgressCompleted) * 1000.0 / PROGRESS_PERIOD_MS;
      lastProgressCompleted = completed;
      progress.printf(Locale.ROOT, "[bench] %6.1f s  %d completed  %.0f statements/s%n",
        (System.nanoTime() - startNanos) / 1e9, completed, perSecond);
    }

    private void finish() {
      if (done.future().isComplete()) {
        return;
      }
      vertx.cancelTimer(progressTimer);
      Histogram h = latencyMicros;
      BenchAccess.Latency latency = h.getTotalCount() == 0 ? null : new BenchAccess.Latency(
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0, h.getValueAtPercentile(99.9) / 1000.0, h.getMaxValue() / 1000.0);
      done.complete(new BenchAccess.Load(System.nanoTime() - startNanos, completed, Collections.unmodifiableMap(new TreeMap<>(outcomes)), latency,
        null, null, -1, firstError));
    }
  }
}

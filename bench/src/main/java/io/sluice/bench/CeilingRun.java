package io.sluice.bench;

import io.sluice.config.JsonSection;
import io.sluice.diagnose.ClosedLoop;
import io.sluice.diagnose.IdRange;
import io.sluice.proxy.ProxyStatements;
import io.sluice.proxy.config.PoolSettings;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * The database's ceiling for the service's hot read: its PK lookup ({@link ProxyStatements#SELECT_USER}) issued
 * straight at one Vert.x MySQL pool in this JVM, built from the service's own connect options and default pool
 * settings ({@link PoolSettings#DEFAULT_MAX_SIZE} connections), with no HTTP, event bus, admission or cache in
 * between. The load is the diagnose command's closed loop ({@link ClosedLoop}) with one statement as its request.
 * The pool stays open between runs, so a warm-up run leaves its connections to the measured one.
 *
 * <p>Threading: the pool is used from one event loop, {@link #context}, like the proxy verticle's pool; the driver
 * sends from it.
 */
final class CeilingRun implements AutoCloseable {

  /** Outcome labels: the id was found, or not (the bench's ids all exist, so that would be a seeding bug). */
  static final String ROW = "row";
  static final String NO_ROW = "no_row";

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
    return new JsonObject().put("statement", ProxyStatements.SELECT_USER).put("pool", poolSettings.toJson());
  }

  /**
   * Runs {@code concurrency} workers for {@code duration}, each looking up ids picked in {@code ids}; blocks until the
   * statements in flight have ended. A failed statement counts as {@link ClosedLoop#ERROR}, without latency.
   */
  ClosedLoop.Result run(IdRange ids, int concurrency, Duration duration, PrintStream progress) {
    ClosedLoop.Request lookup = sequence -> lookup(ids.pick());
    return ClosedLoop.start(context, new ClosedLoop.Budget(concurrency, null, duration), lookup,
      p -> progress.printf(Locale.ROOT, "[bench] %6.1f s  %d completed  %.0f statements/s%n", p.elapsedSeconds(),
        p.completed(), p.perSecond())).result().await();
  }

  private Future<ClosedLoop.Outcome> lookup(long id) {
    return pool.preparedQuery(ProxyStatements.SELECT_USER).execute(Tuple.of(id))
      .map(rows -> ClosedLoop.Outcome.success(rows.size() == 1 ? ROW : NO_ROW));
  }

  @Override
  public void close() {
    pool.close().otherwiseEmpty().await();
    vertx.close().await();
  }
}

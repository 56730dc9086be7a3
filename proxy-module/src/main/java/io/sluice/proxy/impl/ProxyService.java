package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.IdempotencySettings;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the proxy does with one request: validate it, answer reads from the caches or the pool, run writes on the
 * pool and bring the caches up to date before acknowledging them. The verticle only moves messages.
 *
 * <p>Owns the request pool. A reload that changes the pool's settings builds a new pool (after the capacity guard
 * accepted it), sends new requests to it, lets the old one finish its requests in flight and then closes it: no
 * request fails because of a swap, and the server sees at most old + new maxSize connections meanwhile.
 *
 * <p>Closing a pool (after a swap, at shutdown) is bounded: a polite close, then, after {@code db.killGraceMs}, the
 * sockets of whatever did not close ({@link Sockets}) — a database that stopped answering cannot hold a swap or a
 * shutdown for ever.
 */
public final class ProxyService {

  private static final Logger log = LoggerFactory.getLogger(ProxyService.class);

  /**
   * A reply body plus its cache provenance ({@code cacheStatus} null when no cache was involved); {@code replayed}
   * when it is the stored reply of an earlier request with the same idempotency key.
   */
  public record Reply(JsonObject body, String cacheStatus, long ageSeconds, boolean replayed) {

    public Reply(JsonObject body, String cacheStatus, long ageSeconds) {
      this(body, cacheStatus, ageSeconds, false);
    }
  }

  /** One request pool, its sockets and the executor in front of it. */
  private record Generation(Pool pool, Sockets sockets, PoolExecutor executor, ProxyConfig config) {
  }

  private final Vertx vertx;
  private final Pool adminPool;
  private final Killer killer;
  private final ServerLimits limits;
  private final ProxyMetrics metrics;
  private final ProxyCounters counters = new ProxyCounters();
  private final CacheRegistry caches;
  private final ReadinessProbe readiness;
  private final Idempotency idempotency;
  private final IdempotencySettings idempotencySettings;
  private final long purgeTimer;
  private boolean purging;
  private volatile Generation current;
  private volatile CapacityGuard.ServerCapacity capacity;
  private final LongAdder swaps = new LongAdder();
  /** Old pools still finishing their requests after a swap. */
  private final AtomicInteger draining = new AtomicInteger();
  /**
   * The last reconfiguration accepted, done or not. Invariant: at most one reconfiguration in progress, so each one
   * starts from the generation in force, and every pool built is either current or draining toward close. Without
   * it, two overlapping ones both start from the same generation: both build a pool, one of them is never closed, or
   * the later one reinstates a pool the earlier one is closing. Read and written only on the proxy's event-loop
   * context (the verticle's consumer is the only caller of {@link #handle}).
   */
  private Future<?> reconfiguring = Future.succeededFuture();

  private ProxyService(Vertx vertx, Pool adminPool, String serverVersion, ProxyConfig config, Ticker ticker,
                       MeterRegistry registry, CapacityGuard.ServerCapacity capacity,
                       IdempotencySettings idempotencySettings) {
    this.vertx = vertx;
    this.adminPool = adminPool;
    this.killer = new Killer(vertx, adminPool);
    this.limits = ServerLimits.forVersion(serverVersion);
    this.metrics = new ProxyMetrics(registry);
    this.capacity = capacity;
    this.caches = new CacheRegistry(config.cache(), ticker);
    // The server never changes without a restart, so the probe keeps its pool across reloads.
    this.readiness = new ReadinessProbe(vertx, config.db());
    this.current = generation(config);
    // Key lifetimes follow the ticker (a test advances it), anchored to the wall clock at start.
    long startMillis = System.currentTimeMillis();
    long startTick = ticker.read();
    this.idempotency = new Idempotency(
      () -> startMillis + TimeUnit.NANOSECONDS.toMillis(ticker.read() - startTick), idempotencySettings.ttlHours());
    this.idempotencySettings = idempotencySettings;
    this.purgeTimer = vertx.setPeriodic(idempotencySettings.purgeIntervalMs(), id -> purgeExpiredKeys());
    bindMetrics();
  }

  /**
   * Deletes expired idempotency keys, in small batches on the request pool (asynchronous: the event loop never
   * waits for it). One purge at a time; a failure is logged and the next period tries again.
   */
  Future<Long> purgeExpiredKeys() {
    if (purging) {
      return Future.succeededFuture(0L);
    }
    purging = true;
    return idempotency.purge(current.pool, idempotencySettings.purgeBatchSize())
      .onSuccess(n -> {
        if (n > 0) {
          log.debug("Purged {} expired idempotency key(s)", n);
        }
      })
      .onFailure(err -> log.warn("Purge of expired idempotency keys failed: {}", err.toString()))
      .onComplete(ar -> purging = false);
  }

  /**
   * Checks the pool against the server's capacity, then builds the service and its request pool and checks that
   * the pool reaches the database.
   *
   * @param adminPool     a one-connection pool outside the request pool, for KILL QUERY and server checks
   * @param serverVersion {@code SELECT VERSION()} of the server, to speak its dialect of statement time limits
   * @param registry      the metrics registry, or null when metrics are off
   */
  public static Future<ProxyService> start(Vertx vertx, Pool adminPool, String serverVersion, ProxyConfig config,
                                           Ticker ticker, MeterRegistry registry) {
    return start(vertx, adminPool, serverVersion, config, ticker, registry, IdempotencySettings.defaults());
  }

  /** As above, with the {@code idempotency} section (restart-only: read once here). */
  public static Future<ProxyService> start(Vertx vertx, Pool adminPool, String serverVersion, ProxyConfig config,
                                           Ticker ticker, MeterRegistry registry, IdempotencySettings idempotency) {
    return CapacityGuard.check(vertx, adminPool, config.db().pool().maxSize(), config.db().maxConnectionsReservePercent())
      .map(capacity -> new ProxyService(vertx, adminPool, serverVersion, config, ticker, registry, capacity,
        idempotency))
      .compose(service -> service.current.pool.query("SELECT 1").execute().map(service));
  }

  private Generation generation(ProxyConfig config) {
    Sockets sockets = new Sockets();
    Pool pool = MySQLBuilder.pool()
      .with(config.db().pool().toPoolOptions())
      .with(config.db().toNetClientOptions())
      .connectingTo(config.db().toConnectOptions())
      .withConnectHandler(sockets::register)
      .using(vertx)
      .build();
    return new Generation(pool, sockets, new PoolExecutor(vertx, pool, killer, limits, config.db(), config.faults(),
      metrics, counters), config);
  }

  /**
   * Fails only with a {@link ProxyFailure}.
   *
   * @param budgetMs the caller's remaining time, or null for the default (acquire timeout + statement timeout)
   */
  public Future<Reply> handle(String action, JsonObject body, String requestId, Long budgetMs) {
    return handle(action, body, requestId, budgetMs, null, null);
  }

  /**
   * Fails only with a {@link ProxyFailure}.
   *
   * @param budgetMs        the caller's remaining time, or null for the default (acquire timeout + statement
   *                        timeout)
   * @param deadlineEpochMs the caller's absolute deadline (ms since the epoch), or null; the earlier of the two wins
   * @param idempotencyKey  the caller's idempotency key (validated), or null; used by the actions that honour one
   */
  public Future<Reply> handle(String action, JsonObject body, String requestId, Long budgetMs, Long deadlineEpochMs,
                              String idempotencyKey) {
    if (Action.STATS.equals(action)) {
      return Future.succeededFuture(new Reply(stats(), null, -1));
    }
    if (Action.READY.equals(action)) {
      return readiness.check().map(v -> new Reply(new JsonObject().put(Fields.DATABASE, "up"), null, -1));
    }
    if (Action.APPLY_CONFIG.equals(action)) {
      return reconfigure(body).map(result -> new Reply(result, null, -1));
    }
    Operation op;
    try {
      op = Operations.prepare(action, body == null ? new JsonObject() : body);
    } catch (ProxyFailure failure) {
      return Future.failedFuture(failure);
    }
    PoolExecutor executor = current.executor;
    // The deadline is fixed on arrival: whoever runs the work later (a retried cache load) spends the same budget.
    long arrival = System.nanoTime();
    long budget = budgetMs == null ? executor.defaultBudgetMs() : budgetMs;
    if (deadlineEpochMs != null) {
      // The absolute deadline counts the time the message spent queued before this point; the relative budget
      // bounds what a clock running behind the caller's could add (see ProxyContract.DEADLINE_HEADER).
      budget = Math.min(budget, Math.max(0, deadlineEpochMs - System.currentTimeMillis()));
    }
    long deadline = arrival + TimeUnit.MILLISECONDS.toNanos(budget);
    if (op.write()) {
      Operation write = idempotencyKey != null && Idempotency.applies(action)
        ? idempotency.wrap(op, body, idempotencyKey) : op;
      // The caches are brought up to date after the write committed and before it is acknowledged. A write whose
      // outcome is unknown may have committed: what it would invalidate is invalidated all the same.
      return executor.run(write, deadline, requestId)
        .map(result -> {
          caches.afterWrite(op.cacheWrites(), result);
          return new Reply(result, null, -1);
        })
        .recover(err -> {
          if (err instanceof ProxyFailure failure && failure.replayed() != null) {
            return Future.succeededFuture(new Reply(failure.replayed(), null, -1, true));
          }
          if (err instanceof ProxyFailure failure && failure.code() == FailureCode.OUTCOME_UNKNOWN) {
            caches.invalidateFor(op.cacheWrites());
          }
          return Future.failedFuture(err);
        });
    }
    // Concurrent misses share the first caller's load, and so its deadline; if that load runs out of time, a
    // caller with time left loads again under its own deadline (see ReadCache).
    return caches.read(op.cacheRead(), () -> executor.run(op, deadline, requestId))
      .map(r -> new Reply(r.value(), r.status(), r.ageSeconds()));
  }

  /**
   * Applies the live-reloadable sections ({@code db} pool and timeouts, {@code cache}, {@code faults}) given in
   * {@code body} over the current config. The server, database and credentials are kept: they need a restart.
   * All or nothing: an invalid value or a pool the capacity guard refuses leaves everything as it was. Starts once
   * the reconfiguration before it has finished, whatever its outcome.
   */
  private Future<JsonObject> reconfigure(JsonObject body) {
    Future<JsonObject> result = reconfiguring.transform(previous -> reconfigureNow(body));
    reconfiguring = result;
    return result;
  }

  private Future<JsonObject> reconfigureNow(JsonObject body) {
    Generation old = current;
    ProxyConfig next;
    try {
      JsonObject merged = old.config.toJson().mergeIn(body == null ? new JsonObject() : body, true);
      next = ProxyConfig.from(merged);
    } catch (RuntimeException e) {
      return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST, e.getMessage()));
    }
    if (!next.db().sameServer(old.config.db())) {
      return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST,
        "db host, port, database, user and password cannot change without a restart"));
    }
    boolean newPool = next.db().pool().needsNewPool(old.config.db().pool());
    if (newPool && draining.get() > 0) {
      // Old + new is the most the server may see during a swap: a third pool waits until the previous one closed.
      return Future.failedFuture(new ProxyFailure(FailureCode.POOL_SATURATED,
        "the previous pool is still draining; the change will be tried again"));
    }
    boolean guard = newPool
      || next.db().maxConnectionsReservePercent() != old.config.db().maxConnectionsReservePercent();
    Future<Void> ready = guard
      ? CapacityGuard.check(vertx, adminPool, next.db().pool().maxSize(), next.db().maxConnectionsReservePercent())
        .onSuccess(c -> capacity = c).mapEmpty()
      : Future.succeededFuture();
    return ready.map(v -> {
      caches.reconfigure(next.cache());
      if (newPool) {
        swap(old, next);
      } else {
        old.executor.update(next.db(), next.faults());
        current = new Generation(old.pool, old.sockets, old.executor, next);
      }
      if (next.faults().dbLatencyEnabled() && !old.config.faults().dbLatencyEnabled()) {
        log.warn("FAULT INJECTION ON: every statement is preceded by DO SLEEP of {}..{} ms on its connection.",
          next.faults().minMs(), next.faults().maxMs());
      }
      return new JsonObject().put("poolSwapped", newPool).put("pool", next.db().pool().toJson());
    });
  }

  private void swap(Generation old, ProxyConfig next) {
    Generation fresh = generation(next);
    current = fresh;
    swaps.increment();
    PoolSettings was = old.config.db().pool();
    log.info("Database pool replaced: {} (was maxSize={}); the old pool closes once its {} request(s) in flight"
      + " finish", next.db().pool().describe(), was.maxSize(), old.executor.inUse());
    draining.incrementAndGet();
    old.executor.drain(old.executor.defaultBudgetMs())
      .eventually(() -> old.sockets.close(vertx, old.pool, PoolSettings.POOL_NAME, next.db().killGraceMs()))
      .onComplete(ar -> {
        draining.decrementAndGet();
        log.info("Old database pool (maxSize={}) drained and closed", was.maxSize());
      });
  }

  private void bindMetrics() {
    for (Admission.Rejection reason : Admission.Rejection.values()) {
      metrics.counter("sluice.pool.rejections", "Requests refused a connection (nothing was executed)",
        counters.rejections[reason.ordinal()], LongAdder::sum, "reason", reason.label);
    }
    for (PoolExecutor.StopReason reason : PoolExecutor.StopReason.values()) {
      metrics.counter("sluice.statement.timeouts", "Requests stopped at their deadline",
        counters.stops[reason.ordinal()], LongAdder::sum, "reason", reason.name().toLowerCase(Locale.ROOT));
    }
    metrics.counter("sluice.connection.failures", "Failures to get a connection from a reachable pool",
      counters.connectionFailures, LongAdder::sum);
    metrics.counter("sluice.connections.destroyed",
      "Connections closed at the socket: still running past deadline + db.killGraceMs, or KILL QUERY not confirmed",
      counters.destroyed, LongAdder::sum);
    metrics.counter("sluice.pool.swaps", "Request pools replaced by a config reload", swaps, LongAdder::sum);
    metrics.gauge("sluice.admission.waiting", "Requests waiting in the proxy's queue", this,
      s -> s.current.executor.admission().waiting());
    metrics.gauge("sluice.admission.in.use", "Connections held by requests", this,
      s -> s.current.executor.inUse());
    metrics.gauge("sluice.pool.max.size", "Configured db.pool.maxSize", this,
      s -> s.current.config.db().pool().maxSize());
    metrics.gauge("sluice.retry.after.seconds", "Retry-After the proxy would give now", this,
      s -> s.current.executor.admission().retryAfterSeconds());
    caches.bind(metrics);
  }

  /** Pool and cache counters since start. */
  public JsonObject stats() {
    Generation gen = current;
    PoolExecutor executor = gen.executor;
    Admission admission = executor.admission();
    DbSettings db = gen.config.db();
    int poolSize = executor.poolSize();
    return new JsonObject()
      .put("pool", new JsonObject()
        .put("maxSize", db.pool().maxSize())
        .put("maxWaitQueueSize", db.pool().maxWaitQueueSize())
        .put("acquireTimeoutMs", db.pool().acquireTimeoutMs())
        .put("idleTimeoutMs", db.pool().idleTimeoutMs())
        .put("maxLifetimeMs", db.pool().maxLifetimeMs())
        .put("statementTimeoutMs", db.statementTimeoutMs())
        .put("killGraceMs", db.killGraceMs())
        .put("serverFlavor", limits.flavor().name().toLowerCase(Locale.ROOT))
        .put("open", poolSize)
        .put("inUse", executor.inUse())
        .put("idle", Math.max(0, poolSize - executor.inUse()))
        .put("waiting", admission.waiting())
        .put("meanHoldMs", admission.meanHoldMs())
        .put("retryAfterSeconds", admission.retryAfterSeconds())
        .put("executed", counters.executed.sum())
        .put("rejected", rejected())
        .put("deadlineSpentOnArrival", counters.spentOnArrival.sum())
        .put("connectionFailures", counters.connectionFailures.sum())
        .put("connectionsDestroyed", counters.destroyed.sum())
        .put("statementTimeouts", stops())
        .put("swaps", swaps.sum())
        .put("poolsDraining", draining.get())
        .put("server", capacity.toJson()))
      .put("caches", caches.stats());
  }

  private JsonObject rejected() {
    JsonObject json = new JsonObject();
    for (Admission.Rejection reason : Admission.Rejection.values()) {
      json.put(reason.label, counters.rejections[reason.ordinal()].sum());
    }
    return json;
  }

  private JsonObject stops() {
    JsonObject json = new JsonObject();
    for (PoolExecutor.StopReason reason : PoolExecutor.StopReason.values()) {
      json.put(reason.name().toLowerCase(Locale.ROOT), counters.stops[reason.ordinal()].sum());
    }
    return json;
  }

  /** Waits for the requests in flight, at most as long as one of them may take under the current settings. */
  public Future<Void> drain() {
    PoolExecutor executor = current.executor;
    return executor.drain(executor.defaultBudgetMs());
  }

  /**
   * After {@link #drain}: closes the request pool, at the socket for what has not closed after
   * {@code db.killGraceMs}, and the readiness probe's pool. The admin pool belongs to the caller. Never fails.
   */
  public Future<Void> close() {
    metrics.close();
    vertx.cancelTimer(purgeTimer);
    Generation gen = current;
    return Future.join(gen.sockets.close(vertx, gen.pool, PoolSettings.POOL_NAME, gen.config.db().killGraceMs()),
      readiness.close()).mapEmpty();
  }
}

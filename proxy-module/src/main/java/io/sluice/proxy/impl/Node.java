package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.config.JsonSection;
import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.IdempotencySettings;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.config.ProxyConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntUnaryOperator;
import java.util.function.Supplier;

/**
 * One proxy node (one process): its one request pool and one admission ({@link Generation}), its one set of caches,
 * the admin connection (KILL QUERY, capacity guard: {@link AdminConnection}), the readiness probe, the idempotency purge, and the counters.
 * Every event loop that consumes {@link ProxyContract#ADDRESS} calls {@link #handle}; {@code io.sluice.proxy.ProxyNode}
 * is its public face.
 *
 * <p>Invariants:
 * <ul>
 *   <li><em>One pool per node, within its budget</em>: the current generation's pool has {@code budget}
 *   connections ({@code share(db.pool.maxSize)}); during a swap the old one drains while the new one serves, so
 *   the server sees at most old + new, and a further swap waits until the old one closed
 *   ({@link Reconfiguration}).</li>
 *   <li><em>One FIFO per node</em>: every request that needs a connection goes through the generation's one
 *   {@link Admission}, whatever event loop it came in on.</li>
 *   <li><em>One cache per node</em>: a hot key loads once per node, and a write updates or invalidates it before
 *   it is acknowledged ({@link #afterWrite}).</li>
 * </ul>
 *
 * <p>Threads: {@link #handle} runs on the event loop the request came in on; the admin pool's checks, the purge
 * timer, the readiness probe, reconfiguration and the other nodes' cache invalidations ({@link #onRemoteWrite},
 * validated and bounded by {@link RemoteInvalidations}) run on the node's context ({@link #call} hops there).
 * {@link #stats()} and the meters read volatile or atomic state and may run on any thread.
 */
public final class Node {

  private static final Logger log = LoggerFactory.getLogger(Node.class);

  final Vertx vertx;
  private final Context context;
  private final String id = UUID.randomUUID().toString();
  private final Pool adminPool;
  final AdminConnection admin;
  private final Sockets adminSockets;
  private final Killer killer;
  /** What the injected latency waits on; holds a connection only while {@code faults.dbLatency} is on. */
  private final LatencyGate latencyGate;
  private final ServerLimits limits;
  private final ProxyMetrics metrics;
  private final ProxyCounters counters = new ProxyCounters();
  private final ReadinessProbe readiness;
  final Idempotency idempotency;
  private final IdempotencySettings idempotencySettings;
  final CacheRegistry caches;
  private final RemoteInvalidations remoteInvalidations;
  private final int eventLoops;
  private final long purgeTimer;
  private final Reconfiguration reconfiguration;
  private final RequestHandler requests;
  private boolean purging;
  volatile ProxyConfig config;
  /** This node's connections: {@code share(db.pool.maxSize)}. */
  volatile int budget;
  volatile IntUnaryOperator share;
  volatile CapacityGuard.ServerCapacity capacity;
  /** The pool and admission requests go to now. */
  volatile Generation current;

  private Node(Vertx vertx, Context context, Pool adminPool, AdminConnection admin, Sockets adminSockets,
               String serverVersion,
               ProxyConfig config, int eventLoops, Ticker ticker, MeterRegistry registry,
               CapacityGuard.ServerCapacity capacity, IdempotencySettings idempotencySettings,
               IntUnaryOperator initialShare) {
    this.vertx = vertx;
    this.context = context;
    this.adminPool = adminPool;
    this.admin = admin;
    this.adminSockets = adminSockets;
    this.killer = new Killer(vertx, admin);
    this.latencyGate = new LatencyGate(vertx, config.db());
    latencyGate.update(config.faults());
    this.limits = ServerLimits.forVersion(serverVersion);
    this.metrics = new ProxyMetrics(registry);
    this.config = config;
    this.eventLoops = eventLoops;
    this.share = initialShare;
    this.budget = clamp(initialShare, config.db().pool().maxSize());
    this.capacity = capacity;
    this.caches = new CacheRegistry(config.cache(), ticker);
    this.remoteInvalidations = new RemoteInvalidations(id, caches);
    // The server never changes without a restart, so the probe keeps its pool across reloads.
    this.readiness = new ReadinessProbe(vertx, config.db());
    this.idempotency = new Idempotency(idempotencySettings.ttlHours());
    this.idempotencySettings = idempotencySettings;
    this.current = Generation.build(vertx, this, config, budget);
    this.reconfiguration = new Reconfiguration(this);
    this.requests = new RequestHandler(this);
    this.purgeTimer = vertx.setPeriodic(idempotencySettings.purgeIntervalMs(), t -> purgeExpiredKeys());
    NodeStats.bindMetrics(this);
  }

  static int clamp(IntUnaryOperator share, int maxSize) {
    return Math.max(0, Math.min(share.applyAsInt(maxSize), maxSize));
  }

  /**
   * Starts the node on the current context (the node's): the admin pool, which must reach the database, the
   * capacity guard for the whole budget, and the request pool, checked with one statement. Fails with one
   * descriptive log line, having closed what it opened.
   *
   * @param eventLoops   how many event loops will consume the proxy address (for stats and the start log)
   * @param registry     the metrics registry, or null when metrics are off
   * @param initialShare this node's share of {@code db.pool.maxSize} (identity unless clustered)
   */
  public static Future<Node> start(Vertx vertx, JsonObject deployment, Ticker ticker, MeterRegistry registry,
                                   int eventLoops, IntUnaryOperator initialShare) {
    ProxyConfig config;
    IdempotencySettings idempotency;
    try {
      config = ProxyConfig.from(deployment);
      idempotency = IdempotencySettings.from(JsonSection.root(deployment).section("idempotency"));
    } catch (RuntimeException e) {
      log.error("Database proxy not started: invalid config: {}", e.getMessage());
      return Future.failedFuture(e);
    }
    Context context = vertx.getOrCreateContext();
    DbSettings db = config.db();
    Sockets adminSockets = new Sockets();
    // One connection outside the request pool, for KILL QUERY and server checks: a saturated pool must not block
    // its own rescue. Pipelined (AdminConnection): a burst of kills is one round trip.
    Pool adminPool = MySQLBuilder.pool()
      .with(PoolSettings.adminPoolOptions())
      .with(db.toNetClientOptions())
      .connectingTo(db.toConnectOptions().setCachePreparedStatements(false)
        .setPipeliningLimit(AdminConnection.PIPELINING_LIMIT))
      .withConnectHandler(adminSockets::register)
      .using(vertx)
      .build();
    AdminConnection admin = new AdminConnection(adminPool);
    return admin.get().compose(conn -> conn.query("SELECT VERSION()").execute())
      .map(rows -> rows.iterator().next().getString(0))
      .recover(err -> Future.failedFuture(db.connectFailure(err)))
      .onFailure(err -> log.error("Database proxy not started: cannot reach database {}:{}/{} as {}: {}",
        db.host(), db.port(), db.database(), db.user(), err.getMessage()))
      .compose(version -> CapacityGuard.check(vertx, admin, db.pool().maxSize(),
          db.maxConnectionsReservePercent())
        .onFailure(err -> log.error("Database proxy not started: {}", err.getMessage()))
        .map(capacity -> new Node(vertx, context, adminPool, admin, adminSockets, version, config, eventLoops,
          ticker, registry, capacity, idempotency, initialShare)))
      .compose(node -> node.checkPool().map(node).recover(err -> {
        log.error("Database proxy not started: its request pool cannot reach the database: {}", err.getMessage());
        return node.current.drainAndClose(vertx, db.killGraceMs()).eventually(node::close)
          .transform(ar -> Future.failedFuture(err));
      }))
      .recover(err -> adminSockets.close(vertx, adminPool, PoolSettings.POOL_NAME + "-admin", db.killGraceMs())
        .transform(ar -> Future.failedFuture(err)))
      .onSuccess(node -> {
        log.info("Database proxy node: one pool of {} connection(s) served by {} event loop(s), {}, lanes {},"
            + " statementTimeoutMs={} server={}:{}/{}", node.budget, eventLoops, db.pool().describe(),
          db.lanes().enabled() ? "on" : "off", db.statementTimeoutMs(), db.host(), db.port(), db.database());
        log.info("Caches: {}", config.cache().toJson().encode());
        if (config.faults().dbLatencyEnabled()) {
          log.warn("FAULT INJECTION ON: every statement waits {}..{} ms on its connection first (a lock wait on the"
            + " server). Do not run this in production.", config.faults().minMs(), config.faults().maxMs());
        }
      });
  }

  private Future<Void> checkPool() {
    Pool pool = current.pool();
    return pool == null ? Future.succeededFuture() : pool.query("SELECT 1").execute().mapEmpty();
  }

  /**
   * Answers one request of the proxy's contract (see {@link RequestHandler}). Fails only with a
   * {@link ProxyFailure}.
   */
  public Future<Reply> handle(String action, JsonObject body, String requestId, Long budgetMs, Long deadlineEpochMs,
                              String idempotencyKey) {
    return requests.handle(action, body, requestId, budgetMs, deadlineEpochMs, idempotencyKey);
  }

  public Context context() {
    return context;
  }

  /** How many event loops consume the proxy address. */
  public int eventLoops() {
    return eventLoops;
  }

  Killer killer() {
    return killer;
  }

  LatencyGate latencyGate() {
    return latencyGate;
  }

  ServerLimits limits() {
    return limits;
  }

  ProxyMetrics metrics() {
    return metrics;
  }

  ProxyCounters counters() {
    return counters;
  }

  /** Runs {@code work} on {@code target} and completes on the caller's context (or thread, off Vert.x). */
  public static <T> Future<T> call(Context target, Supplier<Future<T>> work) {
    return Contexts.call(target, work);
  }

  /** Readiness, probed on the node's context whoever asks. */
  Future<Void> ready() {
    return call(context, readiness::check);
  }

  /** Brings the node's caches up to date with a committed write (before it is acknowledged), then tells the others. */
  void afterWrite(String action, JsonObject body, List<Operation.CacheWrite> writes, JsonObject reply) {
    caches.afterWrite(writes, reply);
    publish(action, body, reply);
  }

  /** A write that may have committed: its invalidations here and on the other nodes. */
  void invalidateFor(String action, JsonObject body, List<Operation.CacheWrite> writes) {
    caches.invalidateFor(writes);
    publish(action, body, null);
  }

  /**
   * Data, not a closure, so that any node can recompute the write's cache effect ({@link #onRemoteWrite}). Cheap
   * without a cluster: the only consumer is this node's, which ignores its own messages.
   */
  private void publish(String action, JsonObject body, JsonObject reply) {
    vertx.eventBus().publish(ProxyContract.CACHE_INVALIDATE_ADDRESS,
      RemoteInvalidations.message(id, action, body, reply));
  }

  /**
   * A message on {@link ProxyContract#CACHE_INVALIDATE_ADDRESS}, from any member of the event bus: drops the
   * entries the write it describes may have changed here, or drops the message when it is not valid
   * ({@link RemoteInvalidations}). Never throws. The cross-node bound is eventual, one event-bus hop: a read here
   * between that node's acknowledgement and this message's arrival can still be answered from the old entry.
   *
   * @param body reads the message's body (on a clustered event bus, decoding it may fail)
   */
  public void onRemoteWrite(Supplier<Object> body) {
    remoteInvalidations.accept(body);
  }

  RemoteInvalidations remoteInvalidations() {
    return remoteInvalidations;
  }

  /** Live reload ({@link Action#APPLY_CONFIG}); call on the node's context. */
  public Future<JsonObject> applyConfig(JsonObject liveSections) {
    return reconfiguration.applyConfig(liveSections);
  }

  /** A new share of {@code db.pool.maxSize} for this node; call on the node's context. */
  public Future<JsonObject> setShare(IntUnaryOperator next) {
    return reconfiguration.setShare(next);
  }

  /**
   * Deletes expired idempotency keys through the current generation's admission and statement guard
   * ({@link Idempotency#purge}), at most one purge at a time and for at most one purge interval. Invariant: <em>a
   * purge always ends</em> (each batch is answered by its deadline), so however it ends, the next one runs; a
   * failure is one WARN line. A purge that found no free permit (the pool is busy with requests) is skipped. Call on
   * the node's context; package-private so that a test can run one now.
   *
   * @return the keys deleted; fails when this purge failed or was skipped, or another one is running
   */
  Future<Long> purgeExpiredKeys() {
    PoolExecutor executor = current.executor();
    if (executor == null) {
      return Future.succeededFuture(0L);
    }
    if (purging) {
      return Future.failedFuture(new IllegalStateException("a purge of expired idempotency keys is running"));
    }
    purging = true;
    long stopAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(idempotencySettings.purgeIntervalMs());
    return Idempotency.purge(executor, idempotencySettings.purgeBatchSize(), stopAt)
      .onSuccess(n -> {
        if (n > 0) {
          log.debug("Purged {} expired idempotency key(s)", n);
        }
      })
      .onFailure(err -> {
        if (err instanceof Rejected) {
          log.debug("Purge of expired idempotency keys skipped: no free connection; the next runs in {} ms",
            idempotencySettings.purgeIntervalMs());
        } else {
          log.warn("Purge of expired idempotency keys failed: {}; the next runs in {} ms", err.toString(),
            idempotencySettings.purgeIntervalMs());
        }
      })
      .onComplete(ar -> purging = false);
  }

  LongAdder reconfigurationSwaps() {
    return reconfiguration.swaps;
  }

  int reconfigurationDraining() {
    return reconfiguration.draining.get();
  }

  /**
   * The connections this node may hold on the server right now: the size of the pool in force plus the sizes of the
   * old pools still draining beside it (their connections stay open until they close). Never less than what the
   * server can see from the request pools; any thread.
   */
  int held() {
    // The draining sizes first: a swap raises them before it publishes the new generation.
    int draining = reconfiguration.drainingConnections.get();
    return current.maxSize() + draining;
  }

  /** The Retry-After the node would give now (at least 1). Any thread. */
  long retryAfterSeconds() {
    PoolExecutor executor = current.executor();
    return executor == null ? 1 : executor.admission().retryAfterSeconds();
  }

  /** Node totals: the {@link Action#STATS} reply. Any thread (gauge-grade consistency). */
  public JsonObject stats() {
    return NodeStats.stats(this);
  }

  /** Waits for the requests in flight, at most as long as one of them may take, then closes the request pool. */
  public Future<Void> drainAndClose() {
    return current.drainAndClose(vertx, config.db().killGraceMs());
  }

  /**
   * After the request pool closed: the purge, the meters, the readiness probe and the admin pool, bounded by
   * {@code db.killGraceMs}. Never fails.
   */
  public Future<Void> close() {
    vertx.cancelTimer(purgeTimer);
    latencyGate.close();
    metrics.close();
    return Future.join(readiness.close(),
        adminSockets.close(vertx, adminPool, PoolSettings.POOL_NAME + "-admin", config.db().killGraceMs()))
      .<Void>mapEmpty().otherwiseEmpty();
  }
}

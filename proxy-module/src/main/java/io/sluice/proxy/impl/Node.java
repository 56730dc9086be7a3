package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.config.JsonSection;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.IdempotencySettings;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.config.ProxySettings;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntUnaryOperator;
import java.util.function.Supplier;

/**
 * What one proxy node (one process) shares among its shards: the admin pool (KILL QUERY, capacity guard), the
 * readiness probe, the idempotency purge, the counters and meters, the caches of every shard, and the split of the
 * node's connections among the shards. {@code io.sluice.proxy.ProxyNode} is its public face.
 *
 * <p>Invariants:
 * <ul>
 *   <li><em>The shards' pools add up to the node's budget</em> ({@link #split}): shard {@code i} gets
 *   {@code floor(budget / K)} connections, one more for the first {@code budget % K}; the server-side bound of
 *   {@code db.pool.maxSize} holds by construction, with no lock between shards. During a pool swap each shard's old
 *   pool drains while its new one serves, so the server sees at most old + new budget, as with one pool; a further
 *   swap waits until every old pool closed ({@link #draining}).</li>
 *   <li><em>One reconfiguration at a time</em> ({@link #reconfiguring}), each starting from the config and budget in
 *   force: live reloads and share changes go through the same chain, on the node's context.</li>
 *   <li><em>A write reaches the caches of every shard before it is acknowledged</em> ({@link #afterWrite}); the
 *   caches are thread-safe for that (see {@link ReadCache}).</li>
 * </ul>
 *
 * <p>Threads: the admin pool's checks, the purge timer, the readiness probe, reconfiguration and the node's
 * consumers run on the node's context; each shard runs on its own. Calls that cross over hop contexts
 * ({@link #call}). {@link #stats()} and the meters read volatile or atomic state and may run on any thread.
 */
public final class Node {

  private static final Logger log = LoggerFactory.getLogger(Node.class);

  private final Vertx vertx;
  private final Context context;
  private final String id = UUID.randomUUID().toString();
  private final Pool adminPool;
  private final Sockets adminSockets;
  private final Killer killer;
  private final ServerLimits limits;
  private final ProxyMetrics metrics;
  private final ProxyCounters counters = new ProxyCounters();
  /** {@code db.pool.maxWaitQueueSize} for the whole node: the shards queue on these places together. */
  private final QueuePlaces queuePlaces;
  private final ReadinessProbe readiness;
  private final Idempotency idempotency;
  private final IdempotencySettings idempotencySettings;
  private final List<CacheRegistry> caches;
  private final AtomicReferenceArray<ProxyShard> shards;
  private final LongAdder swaps = new LongAdder();
  /** Node-wide swaps whose old pools are not all closed yet. */
  private final AtomicInteger draining = new AtomicInteger();
  private final long purgeTimer;
  private boolean purging;
  private volatile ProxyConfig config;
  /** This node's connections: {@code share(db.pool.maxSize)}. */
  private volatile int budget;
  private volatile IntUnaryOperator share = IntUnaryOperator.identity();
  private volatile CapacityGuard.ServerCapacity capacity;
  /** The last reconfiguration accepted, done or not (see the class comment). Node context only. */
  private Future<?> reconfiguring = Future.succeededFuture();

  private Node(Vertx vertx, Context context, Pool adminPool, Sockets adminSockets, String serverVersion,
               ProxyConfig config, int shardCount, Ticker ticker, MeterRegistry registry,
               CapacityGuard.ServerCapacity capacity, IdempotencySettings idempotencySettings,
               IntUnaryOperator initialShare) {
    this.vertx = vertx;
    this.context = context;
    this.adminPool = adminPool;
    this.adminSockets = adminSockets;
    this.killer = new Killer(vertx, adminPool);
    this.limits = ServerLimits.forVersion(serverVersion);
    this.metrics = new ProxyMetrics(registry);
    this.config = config;
    this.queuePlaces = new QueuePlaces(config.db().pool().maxWaitQueueSize());
    this.share = initialShare;
    this.budget = Math.max(0, Math.min(initialShare.applyAsInt(config.db().pool().maxSize()),
      config.db().pool().maxSize()));
    this.capacity = capacity;
    List<CacheRegistry> registries = new ArrayList<>();
    for (int i = 0; i < shardCount; i++) {
      registries.add(new CacheRegistry(config.cache(), ticker));
    }
    this.caches = List.copyOf(registries);
    this.shards = new AtomicReferenceArray<>(shardCount);
    // The server never changes without a restart, so the probe keeps its pool across reloads.
    this.readiness = new ReadinessProbe(vertx, config.db());
    long startMillis = System.currentTimeMillis();
    long startTick = ticker.read();
    this.idempotency = new Idempotency(
      () -> startMillis + TimeUnit.NANOSECONDS.toMillis(ticker.read() - startTick), idempotencySettings.ttlHours());
    this.idempotencySettings = idempotencySettings;
    this.purgeTimer = vertx.setPeriodic(idempotencySettings.purgeIntervalMs(), t -> purgeExpiredKeys());
    bindMetrics();
  }

  /**
   * Starts the node's shared part on the current context (the node's): the admin pool, which must reach the
   * database, and the capacity guard for the whole budget. Fails with one descriptive log line.
   *
   * @param registry the metrics registry, or null when metrics are off
   */
  public static Future<Node> start(Vertx vertx, JsonObject deployment, Ticker ticker, MeterRegistry registry) {
    return start(vertx, deployment, ticker, registry, IntUnaryOperator.identity());
  }

  /**
   * As above, with this node's share of {@code db.pool.maxSize} from the start (a clustered proxy node's part of
   * the tier's budget), so that its shards never hold more than the share, not even before the first
   * {@link #setShare}.
   */
  public static Future<Node> start(Vertx vertx, JsonObject deployment, Ticker ticker, MeterRegistry registry,
                                   IntUnaryOperator initialShare) {
    ProxyConfig config;
    IdempotencySettings idempotency;
    ProxySettings proxy;
    try {
      config = ProxyConfig.from(deployment);
      idempotency = IdempotencySettings.from(JsonSection.root(deployment).section("idempotency"));
      proxy = ProxySettings.from(JsonSection.root(deployment).section("proxy"));
    } catch (RuntimeException e) {
      log.error("Database proxy not started: invalid config: {}", e.getMessage());
      return Future.failedFuture(e);
    }
    Context context = vertx.getOrCreateContext();
    DbSettings db = config.db();
    Sockets adminSockets = new Sockets();
    // One connection outside the request pools, for KILL QUERY and server checks: a saturated pool must not block
    // its own rescue. One per node, not per shard: the shards' kills share it.
    Pool adminPool = MySQLBuilder.pool()
      .with(PoolSettings.adminPoolOptions())
      .with(db.toNetClientOptions())
      .connectingTo(db.toConnectOptions())
      .withConnectHandler(adminSockets::register)
      .using(vertx)
      .build();
    int shardCount = Math.max(1, Math.min(proxy.resolvedInstances(), db.pool().maxSize()));
    return adminPool.query("SELECT VERSION()").execute()
      .map(rows -> rows.iterator().next().getString(0))
      .onFailure(err -> log.error("Database proxy not started: cannot reach database {}:{}/{} as {}: {}",
        db.host(), db.port(), db.database(), db.user(), err.getMessage()))
      .compose(version -> CapacityGuard.check(vertx, adminPool, db.pool().maxSize(),
          db.maxConnectionsReservePercent())
        .onFailure(err -> log.error("Database proxy not started: {}", err.getMessage()))
        .map(capacity -> new Node(vertx, context, adminPool, adminSockets, version, config, shardCount, ticker,
          registry, capacity, idempotency, initialShare)))
      .recover(err -> adminSockets.close(vertx, adminPool, PoolSettings.POOL_NAME + "-admin", db.killGraceMs())
        .transform(ar -> Future.failedFuture(err)))
      .onSuccess(node -> {
        log.info("Database proxy node: {} shard(s), pool {} split {} statementTimeoutMs={} server={}:{}/{}",
          shardCount, db.pool().describe(), node.splitDescription(), db.statementTimeoutMs(), db.host(), db.port(),
          db.database());
        log.info("Caches: {}", config.cache().toJson().encode());
        if (config.faults().dbLatencyEnabled()) {
          log.warn("FAULT INJECTION ON: every statement is preceded by DO SLEEP of {}..{} ms on its connection."
            + " Do not run this in production.", config.faults().minMs(), config.faults().maxMs());
        }
      });
  }

  /**
   * Connections of shard {@code index} of {@code shardCount} for a node budget of {@code budget}:
   * {@code floor(budget / K)}, plus one for the first {@code budget % K} shards. The shares add up to the budget.
   */
  public static int split(int budget, int shardCount, int index) {
    return budget / shardCount + (index < budget % shardCount ? 1 : 0);
  }

  /**
   * Wait-queue places of a shard: the node's {@code maxWaitQueueSize} split like the connections, at least one per
   * shard that has connections (a queue of 0 stays 0: "no waiting" holds for every shard), none for a shard with
   * no connection (it refuses at once).
   */
  static int queueSplit(int maxWaitQueueSize, int shardCount, int index, int connections) {
    if (connections == 0 || maxWaitQueueSize == 0) {
      return 0;
    }
    return Math.max(1, split(maxWaitQueueSize, shardCount, index));
  }

  /** The config shard {@code index} runs under the node config {@code node} and budget {@code nodeBudget}. */
  ProxyConfig shardConfig(ProxyConfig node, int nodeBudget, int index) {
    PoolSettings pool = node.db().pool();
    int size = split(nodeBudget, shardCount(), index);
    PoolSettings slice = new PoolSettings(size, queueSplit(pool.maxWaitQueueSize(), shardCount(), index, size),
      pool.acquireTimeoutMs(), pool.idleTimeoutMs(), pool.maxLifetimeMs(), pool.queueDelayTargetMs());
    DbSettings db = node.db();
    return new ProxyConfig(new DbSettings(db.host(), db.port(), db.database(), db.user(), db.password(),
      db.statementTimeoutMs(), db.killGraceMs(), db.maxConnectionsReservePercent(), slice), node.cache(),
      node.faults());
  }

  ProxyConfig shardConfig(int index) {
    return shardConfig(config, budget, index);
  }

  private String splitDescription() {
    List<Integer> sizes = new ArrayList<>();
    for (int i = 0; i < shardCount(); i++) {
      sizes.add(split(budget, shardCount(), i));
    }
    return sizes.toString();
  }

  public int shardCount() {
    return caches.size();
  }

  public Context context() {
    return context;
  }

  CacheRegistry caches(int index) {
    return caches.get(index);
  }

  Killer killer() {
    return killer;
  }

  ServerLimits limits() {
    return limits;
  }

  ProxyMetrics metrics() {
    return metrics;
  }

  QueuePlaces queuePlaces() {
    return queuePlaces;
  }

  ProxyCounters counters() {
    return counters;
  }

  Idempotency idempotency() {
    return idempotency;
  }

  void register(int index, ProxyShard shard) {
    shards.set(index, shard);
  }

  /** Runs {@code work} on {@code target} and completes on the caller's context (or thread, off Vert.x). */
  public static <T> Future<T> call(Context target, Supplier<Future<T>> work) {
    Context caller = Vertx.currentContext();
    Promise<T> result = Promise.promise();
    target.runOnContext(v -> {
      Future<T> done;
      try {
        done = work.get();
      } catch (RuntimeException e) {
        done = Future.failedFuture(e);
      }
      done.onComplete(ar -> {
        if (caller == null || caller == target) {
          result.handle(ar);
        } else {
          caller.runOnContext(x -> result.handle(ar));
        }
      });
    });
    return result.future();
  }

  /** Readiness, probed on the node's context whoever asks. */
  Future<Void> ready() {
    return call(context, readiness::check);
  }

  /**
   * Brings the caches of every shard up to date with a committed write (on the writing shard's thread, before the
   * write is acknowledged), then tells the other nodes.
   */
  void afterWrite(String action, JsonObject body, List<Operation.CacheWrite> writes, JsonObject reply) {
    for (CacheRegistry registry : caches) {
      registry.afterWrite(writes, reply);
    }
    publish(action, body, reply);
  }

  /** A write that may have committed: its invalidations in every shard, and on the other nodes. */
  void invalidateFor(String action, JsonObject body, List<Operation.CacheWrite> writes) {
    for (CacheRegistry registry : caches) {
      registry.invalidateFor(writes);
    }
    publish(action, body, null);
  }

  /**
   * Data, not a closure, so that any node can recompute the write's cache effect ({@link #onRemoteWrite}). Cheap
   * without a cluster: the only consumer is this node's, which ignores its own messages.
   */
  private void publish(String action, JsonObject body, JsonObject reply) {
    vertx.eventBus().publish(ProxyContract.CACHE_INVALIDATE_ADDRESS, new JsonObject().put("node", id)
      .put("action", action).put("body", body).put("reply", reply));
  }

  /**
   * A write seen on another node: drops the entries it may have changed from every shard here. The cross-node
   * bound is eventual, one event-bus hop: a read here between that node's acknowledgement and this message's
   * arrival can still be answered from the old entry.
   */
  public void onRemoteWrite(JsonObject message) {
    if (message == null || id.equals(message.getString("node"))) {
      return;
    }
    Operation op;
    try {
      String action = message.getString("action");
      JsonObject body = message.getJsonObject("body");
      op = Operations.prepare(action, body == null ? new JsonObject() : body);
      if (!op.write()) {
        return;
      }
    } catch (RuntimeException e) {
      log.debug("Ignored a cache invalidation that does not describe a write: {}", e.getMessage());
      return;
    }
    JsonObject reply = message.getValue("reply") instanceof JsonObject r ? r : null;
    for (CacheRegistry registry : caches) {
      registry.dropFor(op.cacheWrites(), reply);
    }
  }

  /** Live reload ({@link Action#APPLY_CONFIG}); call on the node's context. */
  public Future<JsonObject> applyConfig(JsonObject liveSections) {
    return serialized(() -> reconfigureNow(liveSections == null ? new JsonObject() : liveSections, share));
  }

  /** A new share of {@code db.pool.maxSize} for this node; call on the node's context. */
  public Future<JsonObject> setShare(IntUnaryOperator next) {
    return serialized(() -> reconfigureNow(new JsonObject(), next));
  }

  private Future<JsonObject> serialized(Supplier<Future<JsonObject>> work) {
    Future<JsonObject> result = reconfiguring.transform(previous -> work.get());
    reconfiguring = result;
    return result;
  }

  /**
   * All or nothing: validation, the server check and the capacity guard (once, for the whole node) come before any
   * shard changes; then every shard takes its new slice on its own context, and the answer comes once all have.
   */
  private Future<JsonObject> reconfigureNow(JsonObject body, IntUnaryOperator nextShare) {
    ProxyConfig old = config;
    ProxyConfig next;
    try {
      next = ProxyConfig.from(old.toJson().mergeIn(body, true));
    } catch (RuntimeException e) {
      return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST, e.getMessage()));
    }
    if (!next.db().sameServer(old.db())) {
      return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST,
        "db host, port, database, user and password cannot change without a restart"));
    }
    int nextBudget = Math.max(0, Math.min(nextShare.applyAsInt(next.db().pool().maxSize()),
      next.db().pool().maxSize()));
    boolean newPool = next.db().pool().needsNewPool(old.db().pool()) || nextBudget != budget;
    if (newPool && draining.get() > 0) {
      // Old + new is the most the server may see during a swap: a third generation waits until the previous closed.
      return Future.failedFuture(new ProxyFailure(FailureCode.POOL_SATURATED,
        "the previous pool is still draining; the change will be tried again"));
    }
    boolean guard = newPool && nextBudget > 0
      || next.db().maxConnectionsReservePercent() != old.db().maxConnectionsReservePercent();
    Future<Void> checked = guard
      // The whole db.pool.maxSize, not this node's share: in cluster mode it is the proxy tier's budget, and the
      // server must hold all of it (as at start).
      ? CapacityGuard.check(vertx, adminPool, next.db().pool().maxSize(), next.db().maxConnectionsReservePercent())
        .onSuccess(c -> capacity = c).mapEmpty()
      : Future.succeededFuture();
    return checked.compose(v -> {
      // From here nothing can fail: each shard's apply builds a pool object (no I/O) and swaps references, so the
      // node's config and every shard change together.
      config = next;
      queuePlaces.limit(next.db().pool().maxWaitQueueSize());
      budget = nextBudget;
      share = nextShare;
      List<Future<Future<Void>>> applied = new ArrayList<>();
      for (int i = 0; i < shardCount(); i++) {
        ProxyShard shard = shards.get(i);
        ProxyConfig slice = shardConfig(next, nextBudget, i);
        applied.add(call(shard.context(), () -> Future.succeededFuture(shard.apply(slice))));
      }
      return Future.all(applied).map(all -> {
        List<Future<Void>> closing = new ArrayList<>();
        boolean swapped = false;
        for (Future<Future<Void>> f : applied) {
          Future<Void> oldPool = f.result();
          swapped |= oldPool != null;
          if (oldPool != null) {
            closing.add(oldPool);
          }
        }
        if (swapped) {
          swaps.increment();
          draining.incrementAndGet();
          log.info("Database pools replaced: {} budget {} split {}", next.db().pool().describe(), nextBudget,
            splitDescription());
          Future.join(closing).onComplete(ar -> {
            draining.decrementAndGet();
            log.info("Old database pools drained and closed");
          });
        }
        if (next.faults().dbLatencyEnabled() && !old.faults().dbLatencyEnabled()) {
          log.warn("FAULT INJECTION ON: every statement is preceded by DO SLEEP of {}..{} ms on its connection.",
            next.faults().minMs(), next.faults().maxMs());
        }
        return new JsonObject().put("poolSwapped", swapped).put("pool", next.db().pool().toJson())
          .put("budget", nextBudget);
      });
    });
  }

  /**
   * Deletes expired idempotency keys on the first shard's pool that has connections (asynchronous: no event loop
   * waits for it). One purge per node at a time; a failure is logged and the next period tries again.
   */
  private void purgeExpiredKeys() {
    if (purging) {
      return;
    }
    Pool pool = null;
    for (int i = 0; i < shardCount() && pool == null; i++) {
      ProxyShard shard = shards.get(i);
      pool = shard == null ? null : shard.pool();
    }
    if (pool == null) {
      return;
    }
    purging = true;
    idempotency.purge(pool, idempotencySettings.purgeBatchSize())
      .onSuccess(n -> {
        if (n > 0) {
          log.debug("Purged {} expired idempotency key(s)", n);
        }
      })
      .onFailure(err -> log.warn("Purge of expired idempotency keys failed: {}", err.toString()))
      .onComplete(ar -> purging = false);
  }

  private List<ProxyShard> started() {
    List<ProxyShard> list = new ArrayList<>();
    for (int i = 0; i < shardCount(); i++) {
      ProxyShard shard = shards.get(i);
      if (shard != null) {
        list.add(shard);
      }
    }
    return list;
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
    // Gauges over every shard: one meter each, summed (a meter per shard would be a duplicate registration).
    metrics.gauge("sluice.admission.waiting", "Requests waiting in the proxy's queues", this,
      n -> n.started().stream().mapToInt(ProxyShard::waiting).sum());
    metrics.gauge("sluice.admission.in.use", "Connections held by requests", this,
      n -> n.started().stream().mapToInt(ProxyShard::inUse).sum());
    metrics.gauge("sluice.pool.max.size", "This node's connections: its share of db.pool.maxSize", this,
      n -> n.budget);
    metrics.gauge("sluice.retry.after.seconds", "Retry-After the proxy would give now", this,
      n -> n.retryAfterSeconds());
    CacheRegistry.bindAll(caches, metrics);
  }

  /** The longest Retry-After any shard would give now (at least 1). Any thread. */
  long retryAfterSeconds() {
    long max = 1;
    for (ProxyShard shard : started()) {
      max = Math.max(max, shard.retryAfterSeconds());
    }
    return max;
  }

  /** Node totals: the {@link Action#STATS} reply. Any thread (gauge-grade consistency). */
  public JsonObject stats() {
    ProxyConfig cfg = config;
    DbSettings db = cfg.db();
    int open = 0;
    int inUse = 0;
    int waiting = 0;
    long meanHold = 0;
    JsonArray perShard = new JsonArray();
    for (ProxyShard shard : started()) {
      open += shard.open();
      inUse += shard.inUse();
      waiting += shard.waiting();
      meanHold = Math.max(meanHold, shard.meanHoldMs());
      perShard.add(new JsonObject().put("maxSize", shard.maxSize()).put("maxWaitQueueSize", shard.maxQueue())
        .put("inUse", shard.inUse()).put("waiting", shard.waiting()));
    }
    return new JsonObject()
      .put("pool", new JsonObject()
        .put("maxSize", budget)
        .put("maxWaitQueueSize", db.pool().maxWaitQueueSize())
        .put("acquireTimeoutMs", db.pool().acquireTimeoutMs())
        .put("idleTimeoutMs", db.pool().idleTimeoutMs())
        .put("maxLifetimeMs", db.pool().maxLifetimeMs())
        .put("statementTimeoutMs", db.statementTimeoutMs())
        .put("killGraceMs", db.killGraceMs())
        .put("serverFlavor", limits.flavor().name().toLowerCase(Locale.ROOT))
        .put("open", open)
        .put("inUse", inUse)
        .put("idle", Math.max(0, open - inUse))
        .put("waiting", waiting)
        .put("meanHoldMs", meanHold)
        .put("retryAfterSeconds", retryAfterSeconds())
        .put("executed", counters.executed.sum())
        .put("rejected", rejected())
        .put("deadlineSpentOnArrival", counters.spentOnArrival.sum())
        .put("connectionFailures", counters.connectionFailures.sum())
        .put("connectionsDestroyed", counters.destroyed.sum())
        .put("statementTimeouts", stops())
        .put("swaps", swaps.sum())
        .put("poolsDraining", draining.get())
        .put("configuredMaxSize", db.pool().maxSize())
        .put("shards", shardCount())
        .put("perShard", perShard)
        .put("server", capacity.toJson()))
      .put("caches", CacheRegistry.statsAll(caches));
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

  /**
   * After every shard stopped (drained and closed its pool): the purge, the meters, the readiness probe and the
   * admin pool, bounded by {@code db.killGraceMs}. Never fails.
   */
  public Future<Void> close() {
    vertx.cancelTimer(purgeTimer);
    metrics.close();
    return Future.join(readiness.close(),
        adminSockets.close(vertx, adminPool, PoolSettings.POOL_NAME + "-admin", config.db().killGraceMs()))
      .<Void>mapEmpty().otherwiseEmpty();
  }
}

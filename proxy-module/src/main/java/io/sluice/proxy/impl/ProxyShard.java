package io.sluice.proxy.impl;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
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

import java.util.concurrent.TimeUnit;

/**
 * One proxy shard: what the proxy does with one request, on one event loop, with its own slice of the node's
 * connections. Validates the request, answers reads from its caches or its pool, runs writes on its pool and
 * brings the caches of every shard of the node up to date before acknowledging them ({@link Node#afterWrite}).
 *
 * <p>Why shards and not one pool shared by every event loop: the pool, the admission FIFO ({@link Admission}) and
 * the executor are confined to one context and need no lock on the hot path. Splitting the node's connections
 * (see {@link Node#split}) keeps the server-side bound exact by construction. The price: a shard may refuse while
 * another has a free connection (the event bus round-robins, so the load evens out), and coalescing is per shard.
 *
 * <p>Owns its request pool. A slice that changes (a reload, a new share) builds a new pool, sends new requests to
 * it, lets the old one finish its requests in flight and then closes it: no request fails because of a swap.
 * A shard whose slice is 0 connections has no pool and answers every request that needs the database at once with
 * 503 and a Retry-After ({@link #noConnections}); a cached read may still be answered from its cache.
 *
 * <p>Confined to its context ({@link #context()}): {@link #handle} and {@link #apply} run there; the getters read
 * volatile or atomic state for stats and meters on any thread.
 */
public final class ProxyShard {

  private static final Logger log = LoggerFactory.getLogger(ProxyShard.class);

  /**
   * A reply body plus its cache provenance ({@code cacheStatus} null when no cache was involved); {@code replayed}
   * when it is the stored reply of an earlier request with the same idempotency key.
   */
  public record Reply(JsonObject body, String cacheStatus, long ageSeconds, boolean replayed) {

    public Reply(JsonObject body, String cacheStatus, long ageSeconds) {
      this(body, cacheStatus, ageSeconds, false);
    }
  }

  /** One request pool (null when the slice is 0), its sockets and the executor in front of it. */
  private record Generation(Pool pool, Sockets sockets, PoolExecutor executor, ProxyConfig config) {
  }

  private final Node node;
  private final int index;
  private final Vertx vertx;
  private final Context context;
  private final CacheRegistry caches;
  private volatile Generation current;

  private ProxyShard(Node node, int index, Vertx vertx) {
    this.node = node;
    this.index = index;
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.caches = node.caches(index);
    this.current = generation(node.shardConfig(index));
  }

  /**
   * Builds shard {@code index} on the current context (its verticle's) and checks that its pool reaches the
   * database; registers it with the node.
   */
  public static Future<ProxyShard> start(Node node, int index, Vertx vertx) {
    ProxyShard shard = new ProxyShard(node, index, vertx);
    Pool pool = shard.current.pool;
    Future<?> check = pool == null ? Future.succeededFuture() : pool.query("SELECT 1").execute();
    return check.map(v -> {
      node.register(index, shard);
      return shard;
    });
  }

  private Generation generation(ProxyConfig config) {
    if (config.db().pool().maxSize() == 0) {
      return new Generation(null, null, null, config);
    }
    Sockets sockets = new Sockets();
    Pool pool = MySQLBuilder.pool()
      .with(config.db().pool().toPoolOptions())
      .with(config.db().toNetClientOptions())
      .connectingTo(config.db().toConnectOptions())
      .withConnectHandler(sockets::register)
      .using(vertx)
      .build();
    return new Generation(pool, sockets, new PoolExecutor(vertx, pool, node.killer(), node.limits(), config.db(),
      config.faults(), node.metrics(), node.counters(), node.queuePlaces()), config);
  }

  public Context context() {
    return context;
  }

  public int index() {
    return index;
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
      return Future.succeededFuture(new Reply(node.stats(), null, -1));
    }
    if (Action.READY.equals(action)) {
      return node.ready().map(v -> new Reply(new JsonObject().put(Fields.DATABASE, "up"), null, -1));
    }
    if (Action.APPLY_CONFIG.equals(action)) {
      // Administrative, and local only: a peer on a clustered event bus must not reconfigure this node.
      return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST, Action.APPLY_CONFIG
        + " is served only on the process-local address " + ProxyContract.ADMIN_ADDRESS));
    }
    Operation op;
    JsonObject request = body == null ? new JsonObject() : body;
    try {
      op = Operations.prepare(action, request);
    } catch (ProxyFailure failure) {
      return Future.failedFuture(failure);
    }
    Generation gen = current;
    PoolExecutor executor = gen.executor;
    // The deadline is fixed on arrival: whoever runs the work later (a retried cache load) spends the same budget.
    long arrival = System.nanoTime();
    long budget = budgetMs == null ? defaultBudgetMs(gen) : budgetMs;
    if (deadlineEpochMs != null) {
      // The absolute deadline counts the time the message spent queued before this point; the relative budget
      // bounds what a clock running behind the caller's could add (see ProxyContract.DEADLINE_HEADER).
      budget = Math.min(budget, Math.max(0, deadlineEpochMs - System.currentTimeMillis()));
    }
    long deadline = arrival + TimeUnit.MILLISECONDS.toNanos(budget);
    if (op.write()) {
      Operation write = idempotencyKey != null && Idempotency.applies(action)
        ? node.idempotency().wrap(op, request, idempotencyKey) : op;
      // Every shard's caches are brought up to date after the write committed and before it is acknowledged. A
      // write whose outcome is unknown may have committed: what it would invalidate is invalidated all the same.
      return run(executor, write, deadline, requestId)
        .map(result -> {
          node.afterWrite(action, request, op.cacheWrites(), result);
          return new Reply(result, null, -1);
        })
        .recover(err -> {
          if (err instanceof ProxyFailure failure && failure.replayed() != null) {
            return Future.succeededFuture(new Reply(failure.replayed(), null, -1, true));
          }
          if (err instanceof ProxyFailure failure && failure.code() == FailureCode.OUTCOME_UNKNOWN) {
            node.invalidateFor(action, request, op.cacheWrites());
          }
          return Future.failedFuture(err);
        });
    }
    // Concurrent misses share the first caller's load, and so its deadline; if that load runs out of time, a
    // caller with time left loads again under its own deadline (see ReadCache).
    return caches.read(op.cacheRead(), () -> run(executor, op, deadline, requestId))
      .map(r -> new Reply(r.value(), r.status(), r.ageSeconds()));
  }

  private Future<JsonObject> run(PoolExecutor executor, Operation op, long deadline, String requestId) {
    return executor == null ? Future.failedFuture(noConnections(op, requestId))
      : executor.run(op, deadline, requestId);
  }

  private static long defaultBudgetMs(Generation gen) {
    return gen.executor != null ? gen.executor.defaultBudgetMs()
      : gen.config.db().pool().acquireTimeoutMs() + gen.config.db().statementTimeoutMs();
  }

  /**
   * This shard's slice of the node's connections is 0 (the node's share is smaller than its shards): 503 at once,
   * nothing executed, counted as a full queue (its queue holds no one), with the node's Retry-After.
   */
  private ProxyFailure noConnections(Operation op, String requestId) {
    node.counters().rejections[Admission.Rejection.QUEUE_FULL.ordinal()].increment();
    log.debug("{} {} rejected: proxy shard {} has no connections request_id={}", op.action(), op.key(), index,
      requestId);
    return new ProxyFailure(FailureCode.POOL_SATURATED, FailureCode.withRetryAfter("database pool saturated: this"
      + " proxy shard has no connections (the node's share of db.pool.maxSize is smaller than its shards)",
      node.retryAfterSeconds()), Admission.Rejection.QUEUE_FULL);
  }

  /**
   * Takes a new slice (on this shard's context): caches, timeouts and faults in place; a changed pool slice builds
   * a new pool and drains the old one. Returns the old pool's closing (done once it drained and closed), or null
   * when no pool was replaced.
   */
  Future<Void> apply(ProxyConfig next) {
    Generation old = current;
    caches.reconfigure(next.cache());
    if (!next.db().pool().needsNewPool(old.config.db().pool())) {
      if (old.executor != null) {
        old.executor.update(next.db(), next.faults());
      }
      current = new Generation(old.pool, old.sockets, old.executor, next);
      return null;
    }
    current = generation(next);
    if (old.pool == null) {
      return Future.succeededFuture();
    }
    PoolSettings was = old.config.db().pool();
    log.info("Proxy shard {}: pool replaced: {} (was maxSize={}); the old pool closes once its {} request(s) in"
      + " flight finish", index, next.db().pool().describe(), was.maxSize(), old.executor.inUse());
    return old.executor.drain(old.executor.defaultBudgetMs())
      .eventually(() -> old.sockets.close(vertx, old.pool, PoolSettings.POOL_NAME, next.db().killGraceMs()));
  }

  /** The current pool, or null when this shard has no connections. */
  Pool pool() {
    return current.pool;
  }

  /** Waits for the requests in flight, at most as long as one of them may take under the current settings. */
  public Future<Void> drain() {
    PoolExecutor executor = current.executor;
    return executor == null ? Future.succeededFuture() : executor.drain(executor.defaultBudgetMs());
  }

  /** After {@link #drain}: closes the request pool, at the socket for what has not closed after the kill grace. */
  public Future<Void> close() {
    Generation gen = current;
    return gen.pool == null ? Future.succeededFuture()
      : gen.sockets.close(vertx, gen.pool, PoolSettings.POOL_NAME, gen.config.db().killGraceMs());
  }

  int maxSize() {
    return current.config.db().pool().maxSize();
  }

  int maxQueue() {
    return current.config.db().pool().maxWaitQueueSize();
  }

  int inUse() {
    PoolExecutor executor = current.executor;
    return executor == null ? 0 : executor.inUse();
  }

  int waiting() {
    PoolExecutor executor = current.executor;
    return executor == null ? 0 : executor.admission().waiting();
  }

  int open() {
    PoolExecutor executor = current.executor;
    return executor == null ? 0 : executor.poolSize();
  }

  long meanHoldMs() {
    PoolExecutor executor = current.executor;
    return executor == null ? 0 : executor.admission().meanHoldMs();
  }

  long retryAfterSeconds() {
    PoolExecutor executor = current.executor;
    return executor == null ? 1 : executor.admission().retryAfterSeconds();
  }
}

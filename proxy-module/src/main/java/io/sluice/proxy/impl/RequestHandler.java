package io.sluice.proxy.impl;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * What the node does with one request of the proxy's contract, on the event loop it came in on: administrative
 * actions, validation, the node's caches for reads, idempotency and cache updates for writes, and the pool's spine
 * ({@link PoolExecutor#run}) for everything that needs a statement.
 */
final class RequestHandler {

  private static final Logger log = LoggerFactory.getLogger(RequestHandler.class);

  private final Node node;

  RequestHandler(Node node) {
    this.node = node;
  }

  /**
   * The request's spine: validate → cache (hit, or join a load in flight) → admission and lane → connection →
   * statements under the statement guard → release. Fails only with a {@link ProxyFailure}.
   *
   * @param budgetMs        the caller's remaining time, or null for the default (acquire timeout + statement
   *                        timeout)
   * @param deadlineEpochMs the caller's absolute deadline (ms since the epoch), or null; the earlier of the two wins
   * @param idempotencyKey  the caller's idempotency key (validated), or null; used by the actions that honour one
   */
  Future<Reply> handle(String action, JsonObject body, String requestId, Long budgetMs, Long deadlineEpochMs,
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
    JsonObject request = body == null ? new JsonObject() : body;
    Operation op;
    try {
      op = Operations.prepare(action, request);
    } catch (ProxyFailure failure) {
      return Future.failedFuture(failure);
    }
    Generation gen = node.current;
    long deadline = deadline(gen, budgetMs, deadlineEpochMs);
    if (!op.write()) {
      // Concurrent misses of the node share the first caller's load, and so its deadline; if that load runs out of
      // time, a caller with time left loads again under its own deadline (see ReadCache).
      return node.caches.read(op.cacheRead(), () -> run(gen, op, deadline, requestId))
        .map(r -> new Reply(r.value(), r.status(), r.ageSeconds()));
    }
    Operation write = idempotencyKey != null && Idempotency.applies(action)
      ? node.idempotency.wrap(op, request, idempotencyKey) : op;
    // The caches are brought up to date after the write committed and before it is acknowledged. A write whose
    // outcome is unknown may have committed: what it would invalidate is invalidated all the same.
    return run(gen, write, deadline, requestId)
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

  /**
   * The request's deadline ({@link System#nanoTime()} scale), fixed on arrival: whoever runs the work later (a
   * retried cache load) spends the same budget. The absolute deadline counts the time the message spent queued
   * before this point; the relative budget bounds what a clock running behind the caller's could add.
   */
  private static long deadline(Generation gen, Long budgetMs, Long deadlineEpochMs) {
    long arrival = System.nanoTime();
    long budget = budgetMs != null ? budgetMs : gen.executor() != null ? gen.executor().defaultBudgetMs()
      : gen.config().db().pool().acquireTimeoutMs() + gen.config().db().statementTimeoutMs();
    if (deadlineEpochMs != null) {
      budget = Math.min(budget, Math.max(0, deadlineEpochMs - System.currentTimeMillis()));
    }
    return arrival + TimeUnit.MILLISECONDS.toNanos(budget);
  }

  private Future<JsonObject> run(Generation gen, Operation op, long deadline, String requestId) {
    return gen.executor() == null ? Future.failedFuture(noConnections(op, requestId))
      : gen.executor().read(op, deadline, requestId);
  }

  /**
   * This node's share of the budget is 0 (more proxy nodes than connections): 503 at once, nothing executed,
   * counted as a full queue, with a Retry-After.
   */
  private ProxyFailure noConnections(Operation op, String requestId) {
    node.counters().rejections[Rejection.QUEUE_FULL.ordinal()].increment();
    log.debug("{} {} rejected: this proxy node has no connections request_id={}", op.action(), op.key(), requestId);
    return new ProxyFailure(FailureCode.POOL_SATURATED, FailureCode.withRetryAfter("database pool saturated: this"
      + " proxy node has no connections (its share of db.pool.maxSize is 0)", 1), Rejection.QUEUE_FULL);
  }
}

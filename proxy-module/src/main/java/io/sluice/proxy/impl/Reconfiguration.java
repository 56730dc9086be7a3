package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.sluice.proxy.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntUnaryOperator;
import java.util.function.Supplier;

/**
 * Live changes of a node: config reloads ({@code proxy.applyConfig}) and new shares of the budget, one at a time,
 * each starting from the config and budget in force, all on the node's context.
 *
 * <p>All or nothing: validation, the server check and the capacity guard come before anything changes. A change
 * that needs a new pool (its size, timeouts, the node's share, lanes switched on or off) builds a new
 * {@link Generation} and sends new requests to it, while the old one finishes its requests in flight and closes:
 * no request fails because of a swap. The server sees at most old + new pool meanwhile; a further swap is refused
 * (503, tried again by the reloader) until the old pool closed. Everything else (timeouts, the queueing-delay target,
 * lane caps, caches, faults) applies in place.
 */
final class Reconfiguration {

  private static final Logger log = LoggerFactory.getLogger(Reconfiguration.class);

  private final Node node;
  final LongAdder swaps = new LongAdder();
  /** Swaps whose old pool is not closed yet. */
  final AtomicInteger draining = new AtomicInteger();
  /**
   * The connections those old pools may still hold (the sum of their sizes). Raised before the new generation is
   * published and lowered only once the old pool is closed, so that {@link Node#held()}, read on any thread, never
   * under-reports: peers decide whether they may grow from it.
   */
  final AtomicInteger drainingConnections = new AtomicInteger();
  /** The last reconfiguration accepted, done or not. Node context only. */
  private Future<?> reconfiguring = Future.succeededFuture();

  Reconfiguration(Node node) {
    this.node = node;
  }

  Future<JsonObject> applyConfig(JsonObject liveSections) {
    return serialized(() -> reconfigure(liveSections == null ? new JsonObject() : liveSections, node.share));
  }

  Future<JsonObject> setShare(IntUnaryOperator next) {
    return serialized(() -> reconfigure(new JsonObject(), next));
  }

  private Future<JsonObject> serialized(Supplier<Future<JsonObject>> work) {
    Future<JsonObject> result = reconfiguring.transform(previous -> work.get());
    reconfiguring = result;
    return result;
  }

  private Future<JsonObject> reconfigure(JsonObject body, IntUnaryOperator nextShare) {
    ProxyConfig old = node.config;
    ProxyConfig next;
    try {
      next = ProxyConfig.from(old.toJson().mergeIn(body, true));
    } catch (RuntimeException e) {
      return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST, e.getMessage()));
    }
    if (!next.db().sameServer(old.db())) {
      return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST,
        "db host, port, database, user, password, tls and allowPublicKeyRetrieval cannot change without a restart"));
    }
    int nextBudget = Node.clamp(nextShare, next.db().pool().maxSize());
    // The size is the node's budget, compared on its own: in cluster mode a reload of db.pool.maxSize that leaves
    // this node's share as it is (the growth gate has not passed yet) must not swap a pool for one of the same size.
    boolean newPool = next.db().pool().withMaxSize(0).needsNewPool(old.db().pool().withMaxSize(0))
      || nextBudget != node.budget
      || next.db().lanes().enabled() != old.db().lanes().enabled();
    if (newPool && draining.get() > 0) {
      return Future.failedFuture(new ProxyFailure(FailureCode.POOL_SATURATED,
        "the previous pool is still draining; the change will be tried again"));
    }
    boolean guard = newPool && nextBudget > 0
      || next.db().maxConnectionsReservePercent() != old.db().maxConnectionsReservePercent();
    Future<Void> checked = guard
      // The whole db.pool.maxSize, not this node's share: in cluster mode it is the proxy tier's budget, and the
      // server must hold all of it (as at start).
      ? CapacityGuard.check(node.vertx, node.admin, next.db().pool().maxSize(),
          next.db().maxConnectionsReservePercent())
        .onSuccess(c -> node.capacity = c).mapEmpty()
      : Future.succeededFuture();
    return checked.map(v -> {
      // From here nothing can fail: a generation is built without I/O, and references are swapped.
      Generation was = node.current;
      node.caches.reconfigure(next.cache());
      node.config = next;
      node.budget = nextBudget;
      node.share = nextShare;
      if (newPool) {
        swap(was, next, nextBudget);
      } else if (was.executor() != null) {
        was.executor().update(next.db(), next.faults());
        node.current = new Generation(was.pool(), was.sockets(), was.executor(), next);
      } else {
        node.current = new Generation(null, null, null, next);
      }
      node.latencyGate().update(next.faults());
      if (next.faults().dbLatencyEnabled() && !old.faults().dbLatencyEnabled()) {
        log.warn("FAULT INJECTION ON: every statement waits {}..{} ms on its connection first (a lock wait on the"
            + " server).",
          next.faults().minMs(), next.faults().maxMs());
      }
      return new JsonObject().put("poolSwapped", newPool).put("pool", next.db().pool().toJson())
        .put("budget", nextBudget);
    });
  }

  private void swap(Generation was, ProxyConfig next, int nextBudget) {
    int oldSize = was.pool() == null ? 0 : was.maxSize();
    if (oldSize > 0) {
      // Counted as draining before the new generation is visible: held() stays >= what the server may see.
      drainingConnections.addAndGet(oldSize);
    }
    node.current = Generation.build(node.vertx, node, next, nextBudget);
    swaps.increment();
    if (was.pool() == null) {
      log.info("Database pool opened: {} connection(s) of {}", nextBudget, next.db().pool().describe());
      return;
    }
    draining.incrementAndGet();
    log.info("Database pool replaced: {} connection(s) of {} (was {}); the old pool closes once its {} request(s) in"
      + " flight finish", nextBudget, next.db().pool().describe(), was.maxSize(), was.executor().inUse());
    was.drainAndClose(node.vertx, next.db().killGraceMs()).onComplete(ar -> {
      draining.decrementAndGet();
      drainingConnections.addAndGet(-oldSize);
      log.info("Old database pool drained and closed");
    });
  }
}

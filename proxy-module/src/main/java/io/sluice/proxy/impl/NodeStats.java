package io.sluice.proxy.impl;

import io.sluice.proxy.config.DbSettings;
import io.vertx.core.json.JsonObject;

import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/** The node's {@code proxy.stats} reply and its meters, read from volatile and atomic state on any thread. */
final class NodeStats {

  private NodeStats() {
  }

  static JsonObject stats(Node node) {
    DbSettings db = node.config.db();
    Generation gen = node.current;
    PoolExecutor executor = gen.executor();
    int open = executor == null ? 0 : executor.poolSize();
    int inUse = executor == null ? 0 : executor.inUse();
    int waiting = executor == null ? 0 : executor.admission().waiting();
    ProxyCounters counters = node.counters();
    return new JsonObject()
      .put("pool", new JsonObject()
        .put("maxSize", node.budget)
        .put("maxWaitQueueSize", db.pool().maxWaitQueueSize())
        .put("acquireTimeoutMs", db.pool().acquireTimeoutMs())
        .put("idleTimeoutMs", db.pool().idleTimeoutMs())
        .put("maxLifetimeMs", db.pool().maxLifetimeMs())
        .put("statementTimeoutMs", db.statementTimeoutMs())
        .put("killGraceMs", db.killGraceMs())
        .put("serverFlavor", node.limits().flavor().name().toLowerCase(Locale.ROOT))
        .put("open", open)
        .put("inUse", inUse)
        .put("idle", Math.max(0, open - inUse))
        .put("waiting", waiting)
        .put("meanHoldMs", executor == null ? 0 : executor.admission().meanHoldMs())
        .put("retryAfterSeconds", node.retryAfterSeconds())
        .put("executed", counters.executed.sum())
        .put("pointReads", new JsonObject().put("reads", counters.pointReads.sum())
          .put("statements", counters.pointReadStatements.sum()))
        .put("rejected", rejected(counters.rejections))
        .put("deadlineSpentOnArrival", counters.spentOnArrival.sum())
        .put("connectionFailures", counters.connectionFailures.sum())
        .put("connectionsDestroyed", counters.destroyed.sum())
        .put("statementTimeouts", stops(counters))
        .put("swaps", node.reconfigurationSwaps().sum())
        .put("poolsDraining", node.reconfigurationDraining())
        .put("held", node.held())
        .put("configuredMaxSize", db.pool().maxSize())
        .put("eventLoops", node.eventLoops())
        .put("server", node.capacity.toJson()))
      .put("lanes", lanes(executor))
      .put("caches", node.caches.stats())
      .put("invalidations", node.remoteInvalidations().stats());
  }

  /** {@code {<action>: {limit, inFlight, waiting, p90Ms, executed, dropped, rejected: {<reason>: n}}}}. */
  static JsonObject lanes(PoolExecutor executor) {
    JsonObject json = new JsonObject();
    if (executor == null) {
      return json;
    }
    for (Lane lane : executor.admission().lanes()) {
      json.put(lane.name, new JsonObject()
        .put("limit", lane.limitNow())
        .put("inFlight", lane.inFlightNow())
        .put("waiting", lane.waitingNow())
        .put("p90Ms", lane.p90Now() / 1_000_000)
        .put("executed", lane.executed.sum())
        .put("dropped", lane.dropped.sum())
        .put("rejected", rejected(lane.rejections)));
    }
    return json;
  }

  private static JsonObject rejected(LongAdder[] adders) {
    JsonObject json = new JsonObject();
    for (Rejection reason : Rejection.values()) {
      json.put(reason.label, adders[reason.ordinal()].sum());
    }
    return json;
  }

  private static JsonObject stops(ProxyCounters counters) {
    JsonObject json = new JsonObject();
    for (StatementGuard.StopReason reason : StatementGuard.StopReason.values()) {
      json.put(reason.name().toLowerCase(Locale.ROOT), counters.stops[reason.ordinal()].sum());
    }
    return json;
  }

  static void bindMetrics(Node node) {
    ProxyMetrics metrics = node.metrics();
    ProxyCounters counters = node.counters();
    for (Rejection reason : Rejection.values()) {
      metrics.counter("sluice.pool.rejections", "Requests refused a connection (nothing was executed)",
        counters.rejections[reason.ordinal()], LongAdder::sum, "reason", reason.label);
    }
    for (StatementGuard.StopReason reason : StatementGuard.StopReason.values()) {
      metrics.counter("sluice.statement.timeouts", "Requests stopped at their deadline",
        counters.stops[reason.ordinal()], LongAdder::sum, "reason", reason.name().toLowerCase(Locale.ROOT));
    }
    metrics.counter("sluice.point.reads", "Primary-key reads answered through a batch (db.pointReadBatch)",
      counters.pointReads, LongAdder::sum);
    metrics.counter("sluice.point.read.statements", "Statements that answered those reads (one per batch)",
      counters.pointReadStatements, LongAdder::sum);
    metrics.counter("sluice.connection.failures", "Failures to get a connection from a reachable pool",
      counters.connectionFailures, LongAdder::sum);
    metrics.counter("sluice.connections.destroyed",
      "Connections closed at the socket: still running past deadline + db.killGraceMs, or KILL QUERY not confirmed",
      counters.destroyed, LongAdder::sum);
    metrics.counter("sluice.pool.swaps", "Request pools replaced by a config reload", node,
      n -> n.reconfigurationSwaps().sum());
    metrics.gauge("sluice.admission.waiting", "Requests waiting in the proxy's queue", node,
      n -> n.current.executor() == null ? 0 : n.current.executor().admission().waiting());
    metrics.gauge("sluice.admission.in.use", "Connections held by requests", node,
      n -> n.current.executor() == null ? 0 : n.current.executor().inUse());
    metrics.gauge("sluice.pool.max.size", "This node's connections: its share of db.pool.maxSize", node,
      n -> n.budget);
    metrics.gauge("sluice.retry.after.seconds", "Retry-After the proxy would give now", node,
      Node::retryAfterSeconds);
    bindLanes(node, metrics);
    node.caches.bind(metrics);
    node.remoteInvalidations().bind(metrics);
  }

  /** Per lane, read through the current generation (a pool swap brings new lanes under the same meters). */
  private static void bindLanes(Node node, ProxyMetrics metrics) {
    for (String action : io.sluice.proxy.config.LaneSettings.ACTIONS) {
      metrics.gauge("sluice.lane.limit", "The lane's concurrency limit now (adaptive)", node,
        n -> lane(n, action, Lane::limitNow), "lane", action);
      metrics.gauge("sluice.lane.in.flight", "The lane's statements holding a connection", node,
        n -> lane(n, action, Lane::inFlightNow), "lane", action);
      metrics.gauge("sluice.lane.waiting", "The lane's requests in the queue", node,
        n -> lane(n, action, Lane::waitingNow), "lane", action);
      metrics.gauge("sluice.lane.p90.seconds", "p90 of the lane's recent execution times", node,
        n -> lane(n, action, l -> l.p90Now() / 1e9), "lane", action);
      for (Rejection reason : Rejection.values()) {
        metrics.counter("sluice.lane.rejections", "The lane's requests refused a connection, by reason", node,
          n -> lane(n, action, l -> l.rejections[reason.ordinal()].sum()), "lane", action, "reason",
          reason.label);
      }
    }
  }

  private static double lane(Node node, String action, java.util.function.ToDoubleFunction<Lane> value) {
    PoolExecutor executor = node.current.executor();
    if (executor == null) {
      return 0;
    }
    Lane lane = executor.admission().lane(action);
    return lane.name.equals(action) ? value.applyAsDouble(lane) : 0;
  }
}

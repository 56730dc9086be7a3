package io.sluice.proxy.impl;

import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;

/**
 * One request pool of the node, its sockets and the executor (admission, lanes, statement guard) in front of it,
 * built for one pool config. A live change of the pool builds a new generation; the old one drains and closes.
 * {@code pool} is null when the node's share is 0: such a node answers every request that needs the database 503.
 *
 * <p>The pool is used from every event loop of the node: Vert.x's SQL pool is thread-safe, and each borrowed
 * connection answers on the context that borrowed it.
 */
record Generation(Pool pool, Sockets sockets, PoolExecutor executor, ProxyConfig config) {

  /** Builds the generation of {@code config} with {@code budget} connections (no I/O: the pool connects lazily). */
  static Generation build(Vertx vertx, Node node, ProxyConfig config, int budget) {
    if (budget == 0) {
      return new Generation(null, null, null, config);
    }
    PoolSettings pool = config.db().pool().withMaxSize(budget);
    ProxyConfig sized = config.withPool(pool);
    Sockets sockets = new Sockets();
    Pool built = MySQLBuilder.pool()
      .with(pool.toPoolOptions())
      .with(config.db().toNetClientOptions())
      .connectingTo(config.db().toConnectOptions())
      .withConnectHandler(sockets::register)
      .using(vertx)
      .build();
    return new Generation(built, sockets, new PoolExecutor(vertx, built, node.killer(), node.limits(),
      node.latencyGate(), sized.db(),
      config.faults(), node.metrics(), node.counters()), config);
  }

  /** The connections this generation may open: the node's budget when it was built. */
  int maxSize() {
    return executor == null ? 0 : executor.poolSettings().maxSize();
  }

  /** Waits for the requests in flight (at most as long as one may take), then closes the pool. Never fails. */
  Future<Void> drainAndClose(Vertx vertx, long killGraceMs) {
    if (pool == null) {
      return Future.succeededFuture();
    }
    return executor.drain(executor.defaultBudgetMs())
      .eventually(() -> sockets.close(vertx, pool, PoolSettings.POOL_NAME, killGraceMs))
      .otherwiseEmpty();
  }
}

package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses a pool the server cannot hold: {@code maxSize} + the admin connection must fit in the server's
 * {@code max_connections} minus a reserve ({@code db.maxConnectionsReservePercent}, default 10 %) left to everyone
 * else. Checked at start (a refusal stops the start) and on every reload (a refusal keeps the old config).
 *
 * <p>Invariant: a check ends within {@link #CHECK_TIMEOUT_MS} of getting its admin connection, and that connection
 * comes back or is destroyed. Reconfigurations run one at a time behind it, so a check stuck on a host that stopped
 * answering must neither hold up every later reload nor keep the one admin connection (which kills need).
 */
final class CapacityGuard {

  private static final Logger log = LoggerFactory.getLogger(CapacityGuard.class);

  /** The admin pool's one connection, outside the request pool. */
  static final int ADMIN_CONNECTIONS = 1;

  /** What the server said at the last check. */
  record ServerCapacity(long maxConnections, long connected, long limit) {
    JsonObject toJson() {
      return new JsonObject().put("maxConnections", maxConnections).put("connectedAtCheck", connected)
        .put("limitForPool", limit);
    }
  }

  /** Longest the two reads may take once the admin connection is ours; past it the connection is closed. */
  static final long CHECK_TIMEOUT_MS = 5000;

  private CapacityGuard() {
  }

  static Future<ServerCapacity> check(Vertx vertx, Pool admin, int maxSize, int reservePercent) {
    return admin.getConnection().compose(conn -> bounded(vertx, conn, read(conn, reservePercent)))
      .recover(err -> Future.failedFuture(new ProxyFailure(FailureCode.DB_UNAVAILABLE,
        "cannot read the server's max_connections for the capacity guard: " + err.getMessage())))
      .compose(capacity -> {
        if (maxSize > capacity.limit()) {
          String why = "db.pool.maxSize " + maxSize + " exceeds the server's max_connections "
            + capacity.maxConnections() + " minus a " + reservePercent + " % reserve and the admin connection (limit "
            + capacity.limit() + "; connected now: " + capacity.connected() + ")";
          log.error("Capacity guard: {}", why);
          return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST, why));
        }
        log.info("Capacity guard: db.pool.maxSize {} fits max_connections {} (limit {} after a {} % reserve;"
          + " connected now: {})", maxSize, capacity.maxConnections(), capacity.limit(), reservePercent,
          capacity.connected());
        return Future.succeededFuture(capacity);
      });
  }

  private static Future<ServerCapacity> read(SqlConnection conn, int reservePercent) {
    return conn.query("SHOW VARIABLES LIKE 'max_connections'").execute()
      .compose(vars -> conn.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'").execute()
        .map(status -> {
          long max = Long.parseLong(value(vars.iterator().next()));
          long connected = Long.parseLong(value(status.iterator().next()));
          long reserve = (max * reservePercent + 99) / 100;
          return new ServerCapacity(max, connected, max - reserve - ADMIN_CONNECTIONS);
        }));
  }

  /** {@code work} on {@code conn}, or a failure after {@link #CHECK_TIMEOUT_MS} with the connection destroyed. */
  private static <T> Future<T> bounded(Vertx vertx, SqlConnection conn, Future<T> work) {
    Promise<T> done = Promise.promise();
    long timer = vertx.setTimer(CHECK_TIMEOUT_MS, t -> {
      if (done.tryFail("no answer within " + CHECK_TIMEOUT_MS + " ms")) {
        Sockets.destroy(conn);
      }
    });
    work.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        done.tryComplete(ar.result());
      } else {
        done.tryFail(ar.cause());
      }
      conn.close();
    });
    return done.future();
  }

  private static String value(Row row) {
    return row.getValue(1).toString();
  }
}

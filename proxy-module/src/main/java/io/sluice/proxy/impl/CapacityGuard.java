package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.sluice.proxy.config.DbSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Refuses a pool the server cannot hold, on two server-wide budgets, each less a reserve
 * ({@code db.maxConnectionsReservePercent}, default 10 %) left to everyone else:
 * <ul>
 *   <li>connections: {@code maxSize} + the admin connection must fit in {@code max_connections};</li>
 *   <li>prepared statements: ({@code maxSize} + the admin connection) × {@link DbSettings#PREPARED_STATEMENT_CACHE_SIZE}
 *   (each connection caches up to that many) must fit in {@code max_prepared_stmt_count}. Past it the server refuses
 *   every new PREPARE (error 1461), for other clients too.</li>
 * </ul>
 * Checked at start (a refusal stops the start) and on every reload (a refusal keeps the old config).
 *
 * <p>Invariant: a check ends within {@link #CHECK_TIMEOUT_MS} of getting the admin connection, and a connection that
 * did not answer by then is discarded. The check runs on the {@link AdminConnection}, pipelined with the kills, so it
 * never holds the connection from them; reconfigurations run one at a time behind it, so a check stuck on a host
 * that stopped answering must not hold up every later reload either.
 */
final class CapacityGuard {

  private static final Logger log = LoggerFactory.getLogger(CapacityGuard.class);

  /** The node's admin connection ({@link AdminConnection}), outside the request pool. */
  static final int ADMIN_CONNECTIONS = 1;

  /** What the server said at the last check. */
  record ServerCapacity(long maxConnections, long connected, long limit, long maxPreparedStatements,
                        long preparedNow, long preparedLimit) {
    JsonObject toJson() {
      return new JsonObject().put("maxConnections", maxConnections).put("connectedAtCheck", connected)
        .put("limitForPool", limit);
    }
  }

  /** Longest the reads may take once the admin connection is ours; past it the connection is discarded. */
  static final long CHECK_TIMEOUT_MS = 5000;

  private CapacityGuard() {
  }

  static Future<ServerCapacity> check(Vertx vertx, AdminConnection admin, int maxSize, int reservePercent) {
    return admin.get().compose(conn -> bounded(vertx, admin, conn, read(conn, reservePercent)))
      .recover(err -> Future.failedFuture(new ProxyFailure(FailureCode.DB_UNAVAILABLE,
        "cannot read the server's max_connections and max_prepared_stmt_count for the capacity guard: "
          + err.getMessage())))
      .compose(capacity -> {
        if (maxSize > capacity.limit()) {
          String why = "db.pool.maxSize " + maxSize + " exceeds the server's max_connections "
            + capacity.maxConnections() + " minus a " + reservePercent + " % reserve and the admin connection (limit "
            + capacity.limit() + "; connected now: " + capacity.connected() + ")";
          log.error("Capacity guard: {}", why);
          return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST, why));
        }
        if (maxSize > capacity.preparedLimit()) {
          long needed = (long) (maxSize + ADMIN_CONNECTIONS) * DbSettings.PREPARED_STATEMENT_CACHE_SIZE;
          String why = "db.pool.maxSize " + maxSize + " and the admin connection, each caching up to "
            + DbSettings.PREPARED_STATEMENT_CACHE_SIZE + " prepared statements (" + needed + "), exceed the server's"
            + " max_prepared_stmt_count " + capacity.maxPreparedStatements() + " minus a " + reservePercent
            + " % reserve (limit for db.pool.maxSize: " + capacity.preparedLimit() + "; Prepared_stmt_count now: "
            + capacity.preparedNow() + ")";
          log.error("Capacity guard: {}", why);
          return Future.failedFuture(new ProxyFailure(FailureCode.BAD_REQUEST, why));
        }
        log.info("Capacity guard: db.pool.maxSize {} fits max_connections {} (limit {} after a {} % reserve;"
          + " connected now: {}) and max_prepared_stmt_count {} (limit {}; prepared now: {})", maxSize,
          capacity.maxConnections(), capacity.limit(), reservePercent, capacity.connected(),
          capacity.maxPreparedStatements(), capacity.preparedLimit(), capacity.preparedNow());
        return Future.succeededFuture(capacity);
      });
  }

  /** Both reads written at once (pipelined): one round trip. */
  private static Future<ServerCapacity> read(SqlConnection conn, int reservePercent) {
    Future<Map<String, Long>> vars = values(conn,
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('max_connections', 'max_prepared_stmt_count')");
    Future<Map<String, Long>> status = values(conn,
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Prepared_stmt_count')");
    return Future.all(vars, status).map(both -> {
      long max = required(vars.result(), "max_connections");
      long maxPrepared = required(vars.result(), "max_prepared_stmt_count");
      long connected = required(status.result(), "threads_connected");
      long prepared = required(status.result(), "prepared_stmt_count");
      long limit = max - reserve(max, reservePercent) - ADMIN_CONNECTIONS;
      long preparedLimit = (maxPrepared - reserve(maxPrepared, reservePercent))
        / DbSettings.PREPARED_STATEMENT_CACHE_SIZE - ADMIN_CONNECTIONS;
      return new ServerCapacity(max, connected, limit, maxPrepared, prepared, preparedLimit);
    });
  }

  private static long reserve(long total, int reservePercent) {
    return (total * reservePercent + 99) / 100;
  }

  /** The rows of a {@code SHOW ... VARIABLES/STATUS} statement by lower-case name. */
  private static Future<Map<String, Long>> values(SqlConnection conn, String show) {
    return conn.query(show).execute().map(rows -> {
      Map<String, Long> values = new HashMap<>();
      for (Row row : rows) {
        values.put(row.getValue(0).toString().toLowerCase(Locale.ROOT), Long.parseLong(row.getValue(1).toString()));
      }
      return values;
    });
  }

  private static long required(Map<String, Long> values, String name) {
    Long value = values.get(name);
    if (value == null) {
      throw new IllegalStateException("the server did not report " + name);
    }
    return value;
  }

  /** {@code work} on {@code conn}, or a failure after {@link #CHECK_TIMEOUT_MS} with the connection discarded. */
  private static <T> Future<T> bounded(Vertx vertx, AdminConnection admin, SqlConnection conn, Future<T> work) {
    Promise<T> done = Promise.promise();
    long timer = vertx.setTimer(CHECK_TIMEOUT_MS, t -> {
      if (done.tryFail("no answer within " + CHECK_TIMEOUT_MS + " ms")) {
        admin.discard(conn);
      }
    });
    work.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        done.tryComplete(ar.result());
      } else {
        // A value missing or unreadable is the server's answer, not a broken connection: the kills pipelined on
        // the same connection must not fail with it.
        if (!(ar.cause() instanceof IllegalStateException || ar.cause() instanceof NumberFormatException)) {
          admin.failed(conn, ar.cause());
        }
        done.tryFail(ar.cause());
      }
    });
    return done.future();
  }
}

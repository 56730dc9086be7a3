package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Stops statements nobody waits for: {@code KILL QUERY <server connection id>}, sent on a dedicated one-connection
 * admin pool outside the request pool (a saturated request pool must not block its own rescue).
 *
 * <p>The server connection id of each physical connection is read once ({@code SELECT CONNECTION_ID()}) on its
 * first lease and remembered by the identity of Vert.x's internal connection object (weakly: a connection that is
 * closed and collected drops out). The ids come from the server, never from a message.
 *
 * <p>A kill is confirmed or it is not: {@link #killQuery} succeeds only when the server acknowledged the KILL within
 * the wait. A kill that could not be sent in time is dropped, never sent late (it takes its admin connection with
 * {@code getConnection()}, whose waiter leaves the pool's queue at its timeout, and checks the wait is not over
 * before it sends). A kill that was sent but not answered in time may still reach the server later, so its admin
 * connection is closed at the socket, and whoever asked must not reuse the target connection either: server
 * connection ids are never reused, so a late kill of a closed connection hits nobody.
 */
final class Killer {

  private final Vertx vertx;
  private final Pool admin;
  private final Map<Object, Long> ids = Collections.synchronizedMap(new WeakHashMap<>());

  Killer(Vertx vertx, Pool admin) {
    this.vertx = vertx;
    this.admin = admin;
  }

  Future<Long> connectionId(SqlConnection conn) {
    Object key = Sockets.physical(conn);
    Long known = key == null ? null : ids.get(key);
    if (known != null) {
      return Future.succeededFuture(known);
    }
    return conn.query("SELECT CONNECTION_ID()").execute().map(rows -> {
      long id = rows.iterator().next().getLong(0);
      if (key != null) {
        ids.put(key, id);
      }
      return id;
    });
  }

  /** Succeeds when the server confirmed {@code KILL QUERY connectionId} within {@code waitMs}; fails otherwise. */
  Future<Void> killQuery(long connectionId, long waitMs) {
    Promise<Void> confirmed = Promise.promise();
    long timer = vertx.setTimer(waitMs, t -> confirmed.tryFail(
      VertxException.noStackTrace("not confirmed within " + waitMs + " ms")));
    admin.getConnection().onComplete(ar -> {
      if (ar.failed()) {
        confirmed.tryFail(ar.cause());
        return;
      }
      SqlConnection conn = ar.result();
      if (confirmed.future().isComplete()) {
        // Too late to be of use: dropped, never sent.
        conn.close();
        return;
      }
      // A number read from the server, not input: safe to inline (KILL takes no placeholder on every server).
      Future<Void> sent = conn.query("KILL QUERY " + connectionId).execute().mapEmpty();
      confirmed.future().onFailure(err -> {
        if (!sent.isComplete()) {
          // The KILL is on the wire and unanswered: this admin connection is no use any more.
          Sockets.destroy(conn);
        }
      });
      sent.onComplete(res -> {
        if (res.succeeded()) {
          confirmed.tryComplete();
        } else {
          confirmed.tryFail(res.cause());
        }
        conn.close();
      });
    });
    return confirmed.future().andThen(ar -> vertx.cancelTimer(timer));
  }
}

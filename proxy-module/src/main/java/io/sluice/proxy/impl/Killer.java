package io.sluice.proxy.impl;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.sqlclient.SqlConnection;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Stops statements nobody waits for: {@code KILL QUERY <server connection id>}, sent on the node's
 * {@link AdminConnection} outside the request pool (a saturated request pool must not block its own rescue).
 *
 * <p>Capacity: every kill is written on the admin connection as soon as it is asked for, pipelined with the others
 * and with any capacity check, so a burst of deadlines as large as the pool costs one round trip and none fails for
 * want of a connection (the admin pool used to lease its one connection per kill, behind a queue of 8, and a kill
 * that found the queue full had its target closed at the socket while its statement ran on).
 *
 * <p>The server connection id of each physical connection is read once ({@code SELECT CONNECTION_ID()}) on its
 * first lease and remembered by the identity of Vert.x's internal connection object (weakly: a connection that is
 * closed and collected drops out). The ids come from the server, never from a message.
 *
 * <p>A kill is confirmed or it is not: {@link #killQuery} succeeds only when the server acknowledged the KILL within
 * the wait. A kill whose admin connection is still being opened when the wait ends is dropped, never sent late. A
 * kill that was sent but not answered in time fails, and whoever asked must not reuse the target connection: server
 * connection ids are never reused, so a late kill of a closed connection hits nobody. The admin connection is
 * discarded (failing the kills behind it at once) only when a KILL stays unanswered {@link #SILENCE_MS}: the server
 * answers a connection's commands in order, and a slow KILL is not yet a silent host.
 */
final class Killer {

  /** How long a KILL may stay unanswered before its admin connection counts as silent and is discarded. */
  static final long SILENCE_MS = 5000;

  private final Vertx vertx;
  private final AdminConnection admin;
  private final Map<Object, Long> ids = Collections.synchronizedMap(new WeakHashMap<>());

  Killer(Vertx vertx, AdminConnection admin) {
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

  /**
   * Succeeds when the server confirmed {@code KILL QUERY connectionId} within {@code waitMs}; fails otherwise. The
   * returned future completes on the caller's context (the request's event loop, whose lease and reply it touches),
   * not on the admin connection's.
   */
  Future<Void> killQuery(long connectionId, long waitMs) {
    Context caller = vertx.getOrCreateContext();
    Promise<Void> onCaller = Promise.promise();
    Promise<Void> confirmed = Promise.promise();
    long timer = vertx.setTimer(waitMs, t -> confirmed.tryFail(
      VertxException.noStackTrace("not confirmed within " + waitMs + " ms")));
    admin.get().onComplete(ar -> {
      if (ar.failed()) {
        confirmed.tryFail(ar.cause());
        return;
      }
      SqlConnection conn = ar.result();
      if (confirmed.future().isComplete()) {
        // Too late to be of use: dropped, never sent.
        return;
      }
      // A number read from the server, not input: safe to inline (KILL takes no placeholder on every server).
      Future<Void> sent = conn.query("KILL QUERY " + connectionId).execute().mapEmpty();
      confirmed.future().onFailure(err -> {
        if (!sent.isComplete()) {
          // Unanswered in time: this kill failed (its target is closed by the caller). The connection itself is
          // discarded only if it stays silent SILENCE_MS more: MariaDB may hold one KILL for up to 2 s (measured
          // 2.0-2.16 s: THD::abort_current_cond_wait tries the victim's mutex 40 x 50 ms), and the kills pipelined
          // behind it still reach the server and stop their statements. Discarding at once dropped them all.
          long silence = vertx.setTimer(SILENCE_MS, t -> {
            if (!sent.isComplete()) {
              admin.discard(conn);
            }
          });
          sent.onComplete(res -> vertx.cancelTimer(silence));
        }
      });
      sent.onComplete(res -> {
        if (res.succeeded()) {
          confirmed.tryComplete();
        } else {
          admin.failed(conn, res.cause());
          confirmed.tryFail(res.cause());
        }
      });
    });
    confirmed.future().onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (Vertx.currentContext() == caller) {
        onCaller.handle(ar);
      } else {
        caller.runOnContext(v -> onCaller.handle(ar));
      }
    });
    return onCaller.future();
  }
}

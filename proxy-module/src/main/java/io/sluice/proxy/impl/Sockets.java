package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.impl.SocketConnectionBase;
import io.vertx.sqlclient.internal.Connection;
import io.vertx.sqlclient.internal.SqlConnectionInternal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * Closing database connections without the database's help, for when it stopped answering.
 *
 * <p>Why: the polite closes of vertx-sql-client 5.0.8 need the server. {@code SqlConnection.close()} of a borrowed
 * connection inside a transaction first rolls back, and the transaction's ROLLBACK waits for the command in flight
 * ({@code TransactionImpl} ends only when no query is pending); the physical close ({@code SocketConnectionBase.close},
 * used by idle eviction) queues COM_QUIT behind the command in flight and then waits for the server to close TCP.
 * Against a host that stopped answering without closing TCP, they wait for ever. Closing the Netty channel under the
 * connection needs nothing from the server: the command in flight fails at once ({@code ClosedConnectionException}),
 * the pool drops the connection, and a new one is opened on demand.
 *
 * <p>{@code Pool.close()} in 5.0.8 does not wait for the server: it also closes the pool's {@code NetClient}, which
 * closes its sockets (seen in {@code SocketsTest}). {@link #close} still bounds it — a polite close, then the sockets
 * of every connection the pool opened — so a swap or a shutdown cannot hang on a later client version. An instance
 * belongs to one pool: its connect handler ({@link #register}) remembers each physical connection (weakly: a closed
 * and collected connection drops out). Thread-safe: the channel close is Netty's, and the set is synchronized.
 */
public final class Sockets {

  private static final Logger log = LoggerFactory.getLogger(Sockets.class);

  private final Set<Connection> open = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

  /** The pool's connect handler ({@code withConnectHandler}): remembers the new connection and hands it back. */
  public void register(SqlConnection conn) {
    Connection physical = physical(conn);
    if (physical != null) {
      open.add(physical);
    }
    conn.close();
  }

  /**
   * Closes {@code pool} politely; whatever has not closed after {@code politeMs} is closed at the socket, and the
   * returned future completes at the latest {@code politeMs} later still. Never fails.
   */
  public Future<Void> close(Vertx vertx, Pool pool, String name, long politeMs) {
    Promise<Void> closed = Promise.promise();
    Future<Void> polite = pool.close();
    long force = vertx.setTimer(politeMs, t -> {
      List<Connection> left;
      synchronized (open) {
        left = new ArrayList<>(open);
      }
      log.warn("Pool {} not closed after {} ms (database not answering?): closing its {} connection(s) at the socket",
        name, politeMs, left.size());
      left.forEach(Sockets::destroy);
      vertx.setTimer(politeMs, t2 -> {
        if (closed.tryComplete()) {
          log.warn("Pool {} still not closed {} ms after its sockets were; giving up on it", name, politeMs);
        }
      });
    });
    polite.onComplete(ar -> {
      vertx.cancelTimer(force);
      closed.tryComplete();
    });
    return closed.future();
  }

  /**
   * Closes the socket under a borrowed connection: what it has in flight fails at once and the pool drops it. The
   * lease must still be given back ({@code conn.close()}); that no longer waits for the server.
   *
   * @return false if the connection is not a socket connection of vertx-sql-client (nothing was closed)
   */
  static boolean destroy(SqlConnection conn) {
    Connection physical = physical(conn);
    return physical != null && destroy(physical);
  }

  private static boolean destroy(Connection physical) {
    if (!(physical instanceof SocketConnectionBase socket)) {
      return false;
    }
    socket.socket().channelHandlerContext().channel().close();
    return true;
  }

  /** The innermost connection object: the same for every lease of one physical connection. */
  static Connection physical(SqlConnection conn) {
    if (!(conn instanceof SqlConnectionInternal internal)) {
      return null;
    }
    Connection current = internal.unwrap();
    for (int depth = 0; current != null && depth < 8; depth++) {
      Connection inner = current.unwrap();
      if (inner == null || inner == current) {
        break;
      }
      current = inner;
    }
    return current;
  }
}

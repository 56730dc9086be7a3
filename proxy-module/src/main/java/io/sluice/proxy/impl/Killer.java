package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.internal.Connection;
import io.vertx.sqlclient.internal.SqlConnectionInternal;

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
 */
final class Killer {

  private final Pool admin;
  private final Map<Object, Long> ids = Collections.synchronizedMap(new WeakHashMap<>());

  Killer(Pool admin) {
    this.admin = admin;
  }

  Future<Long> connectionId(SqlConnection conn) {
    Object key = physical(conn);
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

  Future<Void> killQuery(long connectionId) {
    // A number read from the server, not input: safe to inline (KILL takes no placeholder on every server).
    return admin.query("KILL QUERY " + connectionId).execute().mapEmpty();
  }

  /** The innermost connection object: the same for every lease of one physical connection. */
  private static Object physical(SqlConnection conn) {
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

  Future<Void> close() {
    return admin.close();
  }
}

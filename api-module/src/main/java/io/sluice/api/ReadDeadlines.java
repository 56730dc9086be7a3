package io.sluice.api;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Cuts off clients that send a request too slowly ({@code http.requestReadTimeoutMs}). The idle timeout alone does
 * not: a client that sends one byte now and then is never idle, and holds its connection for as long as it likes.
 *
 * <ul>
 *   <li>Headers: a new connection must deliver its first request's headers within the read timeout; a kept-alive
 *   connection its next request's within idle timeout + read timeout after the previous response (a silent one is
 *   closed by the idle timeout before that). On expiry the connection is closed: there is no request to answer.</li>
 *   <li>Body: once the headers are in, the rest of the request must arrive within the read timeout. On expiry the
 *   client gets 408 with the JSON error body (unless an answer already went out) and the connection is closed.</li>
 * </ul>
 *
 * <p>Invariant: at most one timer per connection and one per request, so timers do not pile up under load. Vert.x's
 * idle timeout does not reset them. A request's body timer is cancelled when the request ends. A connection's
 * header timer is re-armed lazily: waiting for the next request only moves the connection's deadline, and the timer,
 * when it fires early, sleeps again until that deadline; it is cancelled when the connection closes. A kept-alive
 * connection under load so sets a timer every few seconds rather than one per request.
 *
 * <p>Confined to the HTTP verticle's event loop: its server's connections and requests are all handled there.
 */
final class ReadDeadlines {

  private final Vertx vertx;
  private final long readTimeoutMs;
  private final long idleTimeoutMs;
  /** The header deadline of each connection seen, and its timer. */
  private final Map<HttpConnection, HeaderWait> connections = new HashMap<>();

  /** One connection's wait for a request's headers. */
  private static final class HeaderWait {
    /** {@link System#nanoTime()} by which the headers must be in; 0 while not waiting (a request is in). */
    long deadline;
    /** The armed timer, or -1. It may fire before {@link #deadline}, which then moved on: it re-arms. */
    long timer = -1;
    /** {@link System#nanoTime()} at which the armed timer fires. */
    long timerDue;
  }

  ReadDeadlines(Vertx vertx, HttpSettings settings) {
    this.vertx = vertx;
    this.readTimeoutMs = settings.requestReadTimeoutMs();
    this.idleTimeoutMs = settings.idleTimeoutMs();
  }

  /** The server's connection handler. */
  void connected(HttpConnection connection) {
    connections.put(connection, new HeaderWait());
    awaitHeaders(connection, readTimeoutMs);
    connection.closeHandler(v -> {
      HeaderWait wait = connections.remove(connection);
      if (wait != null && wait.timer >= 0) {
        vertx.cancelTimer(wait.timer);
      }
    });
  }

  /** The router's first handler: the headers are in; the body, if any, is still on its way. */
  void requestStarted(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    HttpConnection connection = request.connection();
    cancelHeaders(connection);
    // Only a request that declares a body can be slow to send it; a bodiless one ends with its headers.
    long bodyTimer = request.isEnded() || !declaresBody(request) ? -1
      : vertx.setTimer(readTimeoutMs, id -> bodyTooSlow(ctx));
    ctx.addEndHandler(ar -> {
      if (bodyTimer >= 0) {
        vertx.cancelTimer(bodyTimer);
      }
      if (ar.succeeded() && !request.isEnded()) {
        // Answered before the body arrived (413, 400...): the rest still has the read timeout to come in.
        awaitHeaders(connection, readTimeoutMs);
      } else if (ar.succeeded()) {
        awaitHeaders(connection, idleTimeoutMs + readTimeoutMs);
      }
    });
    ctx.next();
  }

  private static boolean declaresBody(HttpServerRequest request) {
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    return (length != null && !length.equals("0")) || request.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }

  private void bodyTooSlow(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (request.isEnded()) {
      return;
    }
    if (!ctx.response().headWritten()) {
      ApiError error = new ApiError(408, ApiError.REQUEST_TIMEOUT,
        "the request was not received within " + readTimeoutMs + " ms");
      ctx.response().setStatusCode(408).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CONNECTION, "close").end(error.toJson().toBuffer());
    }
    request.connection().close();
  }

  private void awaitHeaders(HttpConnection connection, long timeoutMs) {
    HeaderWait wait = connections.get(connection);
    if (wait == null) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    wait.deadline = deadline == 0 ? 1 : deadline;
    if (wait.timer < 0) {
      arm(connection, wait, timeoutMs);
    } else if (deadline - wait.timerDue < 0) {
      // An earlier deadline than the armed timer's (the read timeout after an early answer): re-arm now.
      vertx.cancelTimer(wait.timer);
      arm(connection, wait, timeoutMs);
    }
  }

  private void arm(HttpConnection connection, HeaderWait wait, long delayMs) {
    wait.timerDue = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs);
    wait.timer = vertx.setTimer(delayMs, id -> {
      wait.timer = -1;
      if (wait.deadline == 0) {
        // A request is in: the next wait arms its own timer.
        return;
      }
      long leftMs = TimeUnit.NANOSECONDS.toMillis(wait.deadline - System.nanoTime());
      if (leftMs > 0) {
        arm(connection, wait, leftMs);
      } else {
        connections.remove(connection);
        connection.close();
      }
    });
  }

  private void cancelHeaders(HttpConnection connection) {
    HeaderWait wait = connections.get(connection);
    if (wait != null) {
      wait.deadline = 0;
    }
  }
}

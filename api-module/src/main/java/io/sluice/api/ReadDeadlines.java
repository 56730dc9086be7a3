package io.sluice.api;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

import java.util.HashMap;
import java.util.Map;

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
 * <p>Invariant: at most one timer per connection and one per request, each cancelled when what it waits for
 * happens or the connection closes, so timers do not pile up under load. Vert.x's idle timeout does not reset them.
 *
 * <p>Confined to the HTTP verticle's event loop: its server's connections and requests are all handled there.
 */
final class ReadDeadlines {

  private final Vertx vertx;
  private final long readTimeoutMs;
  private final long idleTimeoutMs;
  /** The timer of each connection waiting for a request's headers. */
  private final Map<HttpConnection, Long> awaitingHeaders = new HashMap<>();

  ReadDeadlines(Vertx vertx, HttpSettings settings) {
    this.vertx = vertx;
    this.readTimeoutMs = settings.requestReadTimeoutMs();
    this.idleTimeoutMs = settings.idleTimeoutMs();
  }

  /** The server's connection handler. */
  void connected(HttpConnection connection) {
    awaitHeaders(connection, readTimeoutMs);
    connection.closeHandler(v -> cancelHeaders(connection));
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
    cancelHeaders(connection);
    awaitingHeaders.put(connection, vertx.setTimer(timeoutMs, id -> {
      awaitingHeaders.remove(connection);
      connection.close();
    }));
  }

  private void cancelHeaders(HttpConnection connection) {
    Long timer = awaitingHeaders.remove(connection);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }
}

package io.sluice.api;

import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * How the HTTP tier answers what went wrong: every error body is {@code {"error": code, "message": text}} (never a
 * stack trace, never SQL), a 503 and a 409 {@code request_in_progress} carry a Retry-After, and what the router or
 * the HTTP decoder refuses gets the same body.
 */
final class HttpErrors {

  private static final Logger log = LoggerFactory.getLogger(HttpErrors.class);

  static final String JSON = "application/json";

  private final Supplier<HttpSettings> settings;

  /** @param settings the settings in force (reloads change them): the default Retry-After, the limits */
  HttpErrors(Supplier<HttpSettings> settings) {
    this.settings = settings;
  }

  /** A failed proxy call as the error the client sees; {@code write}: a lost answer means "outcome unknown". */
  ApiError of(Throwable err, boolean write) {
    return ApiError.of(err, settings.get(), write);
  }

  void error(RoutingContext ctx, ApiError error) {
    if (ctx.response().ended()) {
      return;
    }
    if (error.status() == 503 || ApiError.REQUEST_IN_PROGRESS.equals(error.code())) {
      long retryAfter = error.retryAfterSeconds() > 0 ? error.retryAfterSeconds()
        : settings.get().retryAfterSeconds();
      ctx.response().putHeader(HttpHeaders.RETRY_AFTER, Long.toString(retryAfter));
    }
    json(ctx, error.status(), error.toJson());
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(body.toBuffer());
  }

  /** The router's own refusals (no route, wrong method, body too large, a handler that threw) as JSON errors. */
  void register(Router router, int maxBodyBytes) {
    router.errorHandler(400, ctx -> error(ctx, ApiError.badRequest("malformed request")));
    router.errorHandler(404, ctx -> error(ctx, new ApiError(404, ApiError.NOT_FOUND, "no such resource: "
      + ctx.request().method() + " " + ctx.request().path())));
    router.errorHandler(405, ctx -> error(ctx, new ApiError(405, ApiError.METHOD_NOT_ALLOWED,
      ctx.request().method() + " is not allowed on " + ctx.request().path())));
    router.errorHandler(417, ctx -> error(ctx, new ApiError(417, ApiError.EXPECTATION_FAILED,
      "only Expect: 100-continue is supported")));
    router.errorHandler(413, ctx -> error(ctx, new ApiError(413, ApiError.PAYLOAD_TOO_LARGE,
      "request body is larger than " + maxBodyBytes + " bytes")));
    router.errorHandler(500, ctx -> {
      log.error("{} {} failed request_id={}", ctx.request().method(), ctx.request().path(),
        ctx.get(ProxyCaller.REQUEST_ID_KEY), ctx.failure());
      error(ctx, new ApiError(500, ApiError.INTERNAL, "internal error"));
    });
  }

  /**
   * What the HTTP decoder refused before any route saw it: a request line longer than
   * {@code http.maxInitialLineLength} (414), headers over {@code http.maxHeaderSize} (431), anything else that is
   * not HTTP (400). The JSON error body like every other error, then the connection is closed: the decoder cannot
   * tell where the next request would begin.
   */
  void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    ApiError error;
    if (cause instanceof TooLongHttpLineException) {
      error = new ApiError(414, ApiError.URI_TOO_LONG,
        "the request line is longer than " + settings.get().maxInitialLineLength() + " bytes");
    } else if (cause instanceof TooLongHttpHeaderException) {
      error = new ApiError(431, ApiError.HEADERS_TOO_LARGE,
        "the request headers are larger than " + settings.get().maxHeaderSize() + " bytes");
    } else {
      error = ApiError.badRequest("malformed HTTP request");
    }
    request.response().setStatusCode(error.status()).putHeader(HttpHeaders.CONTENT_TYPE, JSON)
      .putHeader(HttpHeaders.CONNECTION, "close").end(error.toJson().toBuffer())
      .onComplete(ar -> request.connection().close());
  }

  static String abbreviate(String raw) {
    if (raw == null) {
      return "";
    }
    return raw.length() > 24 ? raw.substring(0, 24) + "…" : raw;
  }
}

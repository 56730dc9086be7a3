package io.sluice.api;

import io.sluice.contract.FailureCode;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;

/**
 * An HTTP error reply: status, stable error code and a client-safe message. {@link #of(Throwable, HttpSettings)} is
 * the one place that maps event-bus outcomes to HTTP.
 */
record ApiError(int status, String code, String message, long retryAfterSeconds) {

  ApiError(int status, String code, String message) {
    this(status, code, message, -1);
  }

  static final String BAD_REQUEST = "bad_request";
  static final String NOT_FOUND = "not_found";
  static final String METHOD_NOT_ALLOWED = "method_not_allowed";
  static final String UNAUTHORIZED = "unauthorized";
  /** A valid end-user token that does not grant this route (another user's data, or no admin scope). */
  static final String FORBIDDEN = "forbidden";
  static final String CONFLICT = "conflict";
  static final String PAYLOAD_TOO_LARGE = "payload_too_large";
  static final String REQUEST_TIMEOUT = "request_timeout";
  static final String URI_TOO_LONG = "uri_too_long";
  static final String HEADERS_TOO_LARGE = "headers_too_large";
  static final String EXPECTATION_FAILED = "expectation_failed";
  static final String POOL_EXHAUSTED = "pool_exhausted";
  static final String DB_UNAVAILABLE = "db_unavailable";
  static final String UNAVAILABLE = "unavailable";
  static final String DB_TIMEOUT = "db_timeout";
  static final String OUTCOME_UNKNOWN = "outcome_unknown";
  static final String IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused";
  static final String REQUEST_IN_PROGRESS = "request_in_progress";
  static final String INTERNAL = "internal";

  static ApiError badRequest(String message) {
    return new ApiError(400, BAD_REQUEST, message);
  }

  static ApiError of(Throwable err, HttpSettings settings) {
    return of(err, settings, false);
  }

  /**
   * @param write whether the request changes data: then no answer from the proxy in time means the outcome is
   *              unknown (the write may have committed), never "nothing written"
   */
  static ApiError of(Throwable err, HttpSettings settings, boolean write) {
    if (err instanceof ApiError.Failure failure) {
      return failure.error;
    }
    if (!(err instanceof ReplyException reply)) {
      return new ApiError(500, INTERNAL, "internal error");
    }
    return switch (reply.failureType()) {
      case RECIPIENT_FAILURE -> switch (reply.failureCode()) {
        case FailureCode.BAD_REQUEST -> new ApiError(400, BAD_REQUEST, reply.getMessage());
        case FailureCode.NOT_FOUND -> new ApiError(404, NOT_FOUND, reply.getMessage());
        case FailureCode.CONFLICT -> new ApiError(409, CONFLICT, reply.getMessage());
        case FailureCode.POOL_SATURATED -> new ApiError(503, POOL_EXHAUSTED,
          FailureCode.withoutRetryAfter(reply.getMessage()), FailureCode.retryAfterOf(reply.getMessage()));
        case FailureCode.DB_UNAVAILABLE -> new ApiError(503, DB_UNAVAILABLE,
          FailureCode.withoutRetryAfter(reply.getMessage()), FailureCode.retryAfterOf(reply.getMessage()));
        case FailureCode.STATEMENT_TIMEOUT -> new ApiError(504, DB_TIMEOUT, reply.getMessage());
        case FailureCode.OUTCOME_UNKNOWN -> new ApiError(504, OUTCOME_UNKNOWN, reply.getMessage());
        case FailureCode.IDEMPOTENCY_KEY_REUSED -> new ApiError(422, IDEMPOTENCY_KEY_REUSED, reply.getMessage());
        case FailureCode.REQUEST_IN_PROGRESS -> new ApiError(409, REQUEST_IN_PROGRESS,
          FailureCode.withoutRetryAfter(reply.getMessage()), FailureCode.retryAfterOf(reply.getMessage()));
        default -> new ApiError(500, INTERNAL, "internal error");
      };
      case TIMEOUT -> write
        ? new ApiError(504, OUTCOME_UNKNOWN, "the database proxy did not answer within the request's deadline: the"
          + " write may or may not have happened; retry with the same Idempotency-Key")
        : new ApiError(504, DB_TIMEOUT, "the database proxy did not answer within the request's deadline");
      case NO_HANDLERS -> new ApiError(503, UNAVAILABLE, "the database proxy is not running");
      default -> new ApiError(500, INTERNAL, "internal error");
    };
  }

  JsonObject toJson() {
    return new JsonObject().put("error", code).put("message", message);
  }

  /** Carries an {@link ApiError} through a failed future. */
  static final class Failure extends RuntimeException {

    final ApiError error;

    Failure(ApiError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }
  }
}

package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;
import io.vertx.core.json.JsonObject;

/**
 * A failure with its wire code and a client-safe message. Anything else that reaches the reply path is a bug and
 * is answered as {@link FailureCode#INTERNAL}.
 */
public final class ProxyFailure extends RuntimeException {

  private final int code;
  private final Rejection rejection;
  private final JsonObject replay;

  public ProxyFailure(int code, String message) {
    this(code, message, null);
  }

  /** @param rejection why admission refused the request, or null if it was not refused at admission */
  ProxyFailure(int code, String message, Rejection rejection) {
    this(code, message, rejection, null);
  }

  private ProxyFailure(int code, String message, Rejection rejection, JsonObject replay) {
    super(message, null, false, false);
    this.code = code;
    this.rejection = rejection;
    this.replay = replay;
  }

  /**
   * Not a failure on the wire: the stored reply of an earlier request with the same idempotency key. It travels as
   * a failure so that the transaction that found it rolls back (it wrote nothing) and the caches are not touched;
   * {@link RequestHandler} turns it into a replayed reply. Code 200: below 500, like the work's own answers.
   */
  static ProxyFailure replay(JsonObject storedReply) {
    return new ProxyFailure(200, "replayed", null, storedReply);
  }

  /** The stored reply when this is a {@link #replay}, else null. */
  JsonObject replayed() {
    return replay;
  }

  public int code() {
    return code;
  }

  /** Why admission refused the request ({@link FailureCode#POOL_SATURATED}), or null for any other failure. */
  Rejection rejection() {
    return rejection;
  }

  public static ProxyFailure badRequest(String message) {
    return new ProxyFailure(FailureCode.BAD_REQUEST, message);
  }

  public static ProxyFailure notFound(String message) {
    return new ProxyFailure(FailureCode.NOT_FOUND, message);
  }
}

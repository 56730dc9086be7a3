package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;

/**
 * A failure with its wire code and a client-safe message. Anything else that reaches the reply path is a bug and
 * is answered as {@link FailureCode#INTERNAL}.
 */
public final class ProxyFailure extends RuntimeException {

  private final int code;
  private final Admission.Rejection rejection;

  public ProxyFailure(int code, String message) {
    this(code, message, null);
  }

  /** @param rejection why admission refused the request, or null if it was not refused at admission */
  ProxyFailure(int code, String message, Admission.Rejection rejection) {
    super(message, null, false, false);
    this.code = code;
    this.rejection = rejection;
  }

  public int code() {
    return code;
  }

  /** Why admission refused the request ({@link FailureCode#POOL_SATURATED}), or null for any other failure. */
  Admission.Rejection rejection() {
    return rejection;
  }

  public static ProxyFailure badRequest(String message) {
    return new ProxyFailure(FailureCode.BAD_REQUEST, message);
  }

  public static ProxyFailure notFound(String message) {
    return new ProxyFailure(FailureCode.NOT_FOUND, message);
  }
}

package io.sluice.proxy.impl;

import io.sluice.proxy.contract.FailureCode;

/**
 * A failure with its wire code and a client-safe message. Anything else that reaches the reply path is a bug and
 * is answered as {@link FailureCode#INTERNAL}.
 */
public final class ProxyFailure extends RuntimeException {

  private final int code;

  public ProxyFailure(int code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public int code() {
    return code;
  }

  public static ProxyFailure badRequest(String message) {
    return new ProxyFailure(FailureCode.BAD_REQUEST, message);
  }

  public static ProxyFailure notFound(String message) {
    return new ProxyFailure(FailureCode.NOT_FOUND, message);
  }
}

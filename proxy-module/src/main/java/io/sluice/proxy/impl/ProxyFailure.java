package io.sluice.proxy.impl;

import io.sluice.contract.FailureCode;

/**
 * A failure with its wire code and a client-safe message. Anything else that reaches the reply path is a bug and
 * is answered as {@link FailureCode#INTERNAL}.
 */
public final class ProxyFailure extends RuntimeException {

  private final int code;
  private final String reason;

  public ProxyFailure(int code, String message) {
    this(code, message, null);
  }

  /** @param reason a stable label of why (an admission rejection reason), or null */
  public ProxyFailure(int code, String message, String reason) {
    super(message, null, false, false);
    this.code = code;
    this.reason = reason;
  }

  public int code() {
    return code;
  }

  public String reason() {
    return reason;
  }

  public static ProxyFailure badRequest(String message) {
    return new ProxyFailure(FailureCode.BAD_REQUEST, message);
  }

  public static ProxyFailure notFound(String message) {
    return new ProxyFailure(FailureCode.NOT_FOUND, message);
  }
}

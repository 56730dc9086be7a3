package io.sluice.contract.client;

import io.sluice.contract.FailureCode;

import java.time.Duration;
import java.util.Optional;

/**
 * Why a {@link SluiceClient} request failed: one of {@link FailureCode}, a message safe to show (never SQL, never a
 * secret; without the {@code [retryAfter=N]} marker), and the proxy's retry hint when it gave one. What each code
 * means for a write, and what to do, is in {@code docs/event-bus.md#failure-codes}.
 *
 * <p>Besides the proxy's own failures, the client reports with the same codes what the event bus decides:
 * <ul>
 *   <li>{@link FailureCode#STATEMENT_TIMEOUT}: the deadline had passed (or too little of it was left) before the
 *   request was sent, or no answer came by the deadline to a read. Nothing was written.</li>
 *   <li>{@link FailureCode#OUTCOME_UNKNOWN}: no answer came by the deadline to a write; it may or may not have
 *   happened. Retry with the same idempotency key, or read back.</li>
 *   <li>{@link FailureCode#DB_UNAVAILABLE}: no proxy is registered anywhere on the event bus ({@code NO_HANDLERS}).
 *   Nothing ran; retry later.</li>
 *   <li>{@link FailureCode#INTERNAL}: anything else (a reply the client cannot read, a codec error); the cause says
 *   what.</li>
 * </ul>
 * The cause, when there is one, is the event bus's {@link io.vertx.core.eventbus.ReplyException}.
 */
public class SluiceException extends RuntimeException {

  private final int code;
  private final Duration retryAfter;

  /**
   * @param code       one of {@link FailureCode}
   * @param retryAfter the proxy's hint of when to retry, or null
   */
  public SluiceException(int code, String message, Duration retryAfter, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** One of {@link FailureCode}. */
  public int code() {
    return code;
  }

  /**
   * The proxy's estimate of when to retry, from its observed drain rate; given with
   * {@link FailureCode#POOL_SATURATED}, {@link FailureCode#DB_UNAVAILABLE} and {@link FailureCode#REQUEST_IN_PROGRESS}.
   */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  @Override
  public String toString() {
    return "SluiceException(" + code + "): " + getMessage();
  }
}

package io.sluice.contract;

/**
 * Integer failure codes of {@code message.fail(code, text)} replies. They arrive at the caller as a
 * {@link io.vertx.core.eventbus.ReplyException} with {@code failureType() == RECIPIENT_FAILURE} and
 * {@code failureCode()} equal to one of these. The text is safe to show to a client: never SQL, never a secret.
 *
 * <p>The values are part of the wire contract: never renumber them.
 */
public final class FailureCode {

  /** The request is malformed: unknown action, missing or invalid field. Retrying it unchanged fails again. */
  public static final int BAD_REQUEST = 400;

  /** The user, or the user's notification, does not exist. */
  public static final int NOT_FOUND = 404;

  /** The write conflicts with stored data (an email already in use). Nothing was written. */
  public static final int CONFLICT = 409;

  /**
   * The {@link ProxyContract#IDEMPOTENCY_KEY_HEADER} was already used, in the same scope, for a different request.
   * Nothing was executed. Do not retry unchanged: use a new key for a new request.
   */
  public static final int IDEMPOTENCY_KEY_REUSED = 422;

  /**
   * A request with the same {@link ProxyContract#IDEMPOTENCY_KEY_HEADER} is still in flight. Nothing was executed
   * for this one. Retry with the same key after the hint ({@link #RETRY_AFTER_MARKER}): it then gets the first
   * request's answer.
   */
  public static final int REQUEST_IN_PROGRESS = 423;

  /** Internal error: a bug. The proxy logs the cause. */
  public static final int INTERNAL = 500;

  /**
   * The database cannot be reached (connect refused, authentication failed, server gone) or the connection was lost
   * before a write's COMMIT was sent: nothing was written. Retry later.
   */
  public static final int DB_UNAVAILABLE = 502;

  /**
   * The pool is saturated: its wait queue is full (answered at once) or no connection came free within the acquire
   * timeout. Nothing was executed, so a write that failed this way left nothing behind. Retry later.
   */
  public static final int POOL_SATURATED = 503;

  /**
   * The request's deadline passed before its work finished (or it had passed on arrival). A write that failed this
   * way was rolled back, or never started: it left nothing behind. Retry (with the same idempotency key).
   */
  public static final int STATEMENT_TIMEOUT = 504;

  /**
   * A write whose outcome is not known: its COMMIT was sent, but its acknowledgement did not arrive before the
   * deadline or was lost with the connection. The write may or may not have happened. Retry with the same
   * {@link ProxyContract#IDEMPOTENCY_KEY_HEADER} (it then runs at most once), or read back before writing again.
   * Never sent for reads.
   */
  public static final int OUTCOME_UNKNOWN = 520;

  /**
   * A {@link #POOL_SATURATED}, {@link #DB_UNAVAILABLE} or {@link #REQUEST_IN_PROGRESS} message ends with this marker and a number of seconds
   * (" [retryAfter=3]"): the proxy's estimate, from its observed drain rate, of when to retry.
   */
  public static final String RETRY_AFTER_MARKER = " [retryAfter=";

  private static final java.util.regex.Pattern RETRY_AFTER =
    java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(RETRY_AFTER_MARKER) + "(\\d{1,9})]$");

  private FailureCode() {
  }

  /** Appends the retry hint to a failure message. */
  public static String withRetryAfter(String message, long seconds) {
    return message + RETRY_AFTER_MARKER + seconds + "]";
  }

  /** The retry hint of a failure message in seconds, or -1 when it has none. */
  public static long retryAfterOf(String message) {
    java.util.regex.Matcher m = message == null ? null : RETRY_AFTER.matcher(message);
    return m != null && m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** The failure message without its retry hint. */
  public static String withoutRetryAfter(String message) {
    return message == null ? null : RETRY_AFTER.matcher(message).replaceFirst("");
  }
}

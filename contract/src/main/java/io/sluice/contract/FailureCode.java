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

  /** The write conflicts with stored data (an email already in use). */
  public static final int CONFLICT = 409;

  /** Internal error: a bug. The proxy logs the cause. */
  public static final int INTERNAL = 500;

  /** The database cannot be reached (connect refused, authentication failed, server gone). Retry later. */
  public static final int DB_UNAVAILABLE = 502;

  /**
   * The pool is saturated: its wait queue is full (answered at once) or no connection came free within the acquire
   * timeout. Nothing was executed, so a write that failed this way left nothing behind. Retry later.
   */
  public static final int POOL_SATURATED = 503;

  /**
   * The statement did not finish within the proxy's statement timeout. A write that failed this way was rolled
   * back: it left nothing behind.
   */
  public static final int STATEMENT_TIMEOUT = 504;

  /**
   * A {@link #POOL_SATURATED} or {@link #DB_UNAVAILABLE} message ends with this marker and a number of seconds
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

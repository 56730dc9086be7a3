package io.sluice.contract;

import io.vertx.core.eventbus.DeliveryOptions;

/**
 * A caller's remaining time split between the proxy and the reply's way back: what every caller of
 * {@link ProxyContract#ADDRESS} sets on a request (the HTTP tier and the typed client alike).
 *
 * <p>The proxy answers every request by its own deadline (a write committed, rolled back, or outcome unknown). It gets
 * a little less than the caller has left, the reply margin, so that its final answer arrives before the caller's send
 * timeout fires: a caller that gives up first knows nothing about a write, one that waits gets the proxy's verdict.
 * The margin is 10 % of the remaining time, kept within {@link #DEFAULT_MIN_REPLY_MARGIN_MS} and
 * {@link #DEFAULT_MAX_REPLY_MARGIN_MS} unless a caller chooses other bounds.
 *
 * @param sendTimeoutMs   the event-bus send timeout: all the time the caller has left
 * @param proxyBudgetMs   the proxy's budget, {@link ProxyContract#TIMEOUT_HEADER}: the remaining time less the
 *                        margin; zero or less when too little is left to send the request at all ({@link #spent()})
 * @param deadlineEpochMs the proxy's absolute deadline, {@link ProxyContract#DEADLINE_HEADER}: now + the budget
 */
public record CallBudget(long sendTimeoutMs, long proxyBudgetMs, long deadlineEpochMs) {

  /** Below this the reply's hop back (an event-bus message, maybe across the cluster) would not fit. */
  public static final long DEFAULT_MIN_REPLY_MARGIN_MS = 10;

  /** Above this the proxy loses time it could have spent on the statement, for a hop that takes milliseconds. */
  public static final long DEFAULT_MAX_REPLY_MARGIN_MS = 50;

  /** With the default margin bounds. */
  public static CallBudget of(long remainingMs, long nowEpochMs) {
    return of(remainingMs, nowEpochMs, DEFAULT_MIN_REPLY_MARGIN_MS, DEFAULT_MAX_REPLY_MARGIN_MS);
  }

  /**
   * @param remainingMs the caller's time left, in ms
   * @param nowEpochMs  the wall clock now ({@link System#currentTimeMillis()}), which the absolute deadline is
   *                    counted from, as the proxy reads it
   */
  public static CallBudget of(long remainingMs, long nowEpochMs, long minReplyMarginMs, long maxReplyMarginMs) {
    long margin = Math.max(minReplyMarginMs, Math.min(maxReplyMarginMs, remainingMs / 10));
    long budget = remainingMs - margin;
    return new CallBudget(remainingMs, budget, nowEpochMs + budget);
  }

  /** Too little time is left for the proxy to do anything: fail without sending (nothing was written). */
  public boolean spent() {
    return proxyBudgetMs <= 0;
  }

  /**
   * The send timeout and the contract's headers for {@code action}: both forms of the deadline, since the absolute one
   * also counts the time the message spends queued on its way, and the relative one bounds a proxy clock running
   * behind.
   */
  public DeliveryOptions deliveryOptions(String action) {
    return new DeliveryOptions()
      .setSendTimeout(sendTimeoutMs)
      .addHeader(ProxyContract.TIMEOUT_HEADER, Long.toString(proxyBudgetMs))
      .addHeader(ProxyContract.DEADLINE_HEADER, Long.toString(deadlineEpochMs))
      .addHeader(ProxyContract.ACTION_HEADER, action);
  }
}

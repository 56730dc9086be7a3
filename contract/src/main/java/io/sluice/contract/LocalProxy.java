package io.sluice.contract;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * The proxy node of this process, called without the event bus: the same contract as a request to
 * {@link ProxyContract#ADDRESS}, handled on the caller's own event loop, with no message, no copy and no thread hop.
 * A process that runs both tiers and is not clustered hands one to its HTTP tier; a clustered process keeps the
 * event bus, whose wire format is unchanged.
 *
 * <p>Ownership: the request body passed in belongs to the proxy from then on, and the reply's body is shared (it may
 * be a cache entry): neither side changes either after the call.
 */
public interface LocalProxy {

  /**
   * Handles one request of the contract.
   *
   * @param action          one of {@link Action}
   * @param requestId       the caller's correlation id, or null
   * @param budgetMs        the caller's remaining time, as {@link ProxyContract#TIMEOUT_HEADER}
   * @param deadlineEpochMs the absolute deadline, as {@link ProxyContract#DEADLINE_HEADER}
   * @param idempotencyKey  as {@link ProxyContract#IDEMPOTENCY_KEY_HEADER}, or null
   * @return the reply; a failure is a {@link io.vertx.core.eventbus.ReplyException} with a {@link FailureCode}, as
   *     an event-bus reply would be ({@code NO_HANDLERS} once the proxy has stopped)
   */
  Future<Reply> request(String action, JsonObject body, String requestId, long budgetMs, long deadlineEpochMs,
                        String idempotencyKey);

  /**
   * A reply body and what the event-bus reply would carry in its headers: {@link ProxyContract#CACHE_HEADER} (null
   * when no cache was involved), {@link ProxyContract#AGE_HEADER} (-1 when absent) and
   * {@link ProxyContract#IDEMPOTENT_REPLAYED_HEADER}.
   */
  record Reply(JsonObject body, String cacheStatus, long ageSeconds, boolean replayed) {
  }
}

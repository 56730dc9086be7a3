package io.sluice.api;

import io.sluice.contract.Action;
import io.sluice.contract.CallBudget;
import io.sluice.contract.LocalProxy;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.concurrent.TimeUnit;

/**
 * The HTTP tier's one way to the database proxy: the request's deadline becomes the proxy's budget, the request goes
 * over the event bus or, when this process runs its own unclustered proxy, straight to it ({@link LocalProxy}: on
 * this event loop, no copy, no thread hop), and the reply comes back as an {@link Answer} either way.
 */
final class ProxyCaller {

  /** Routing-context keys set by {@link HttpVerticle}'s filters and read here. */
  static final String REQUEST_ID_KEY = "requestId";
  static final String DEADLINE_KEY = "deadlineNanos";
  static final String IDEMPOTENCY_KEY = "idempotencyKey";

  /** A proxy's reply: its body, and where a read came from (HIT, MISS, STALE; the age in seconds, or null). */
  record Answer(JsonObject body, String cacheStatus, String age, boolean replayed) {
  }

  private final Vertx vertx;
  private final LocalProxy local;
  private final boolean localProxyNode;

  /**
   * @param local          this process's proxy, called in-process; null: every request goes over the event bus
   * @param localProxyNode this process runs a proxy: readiness and pool stats ask it (local-only sends), not
   *                       whichever node a cluster picks
   */
  ProxyCaller(Vertx vertx, LocalProxy local, boolean localProxyNode) {
    this.vertx = vertx;
    this.local = local;
    this.localProxyNode = localProxyNode;
  }

  /**
   * Sends {@code action} with {@code body} for the request of {@code ctx} (its deadline, request id and idempotency
   * key). Fails with the proxy's {@link io.vertx.core.eventbus.ReplyException}, or an {@link ApiError.Failure} when
   * the deadline passed before anything was sent.
   */
  Future<Answer> call(RoutingContext ctx, String action, JsonObject body) {
    long remainingMs = TimeUnit.NANOSECONDS.toMillis(ctx.<Long>get(DEADLINE_KEY) - System.nanoTime());
    // The proxy gets a little less than what is left here, so that its answer (a commit or a 504 with the write
    // rolled back) arrives before this side gives up: a 504 from the proxy means "nothing written".
    CallBudget budget = CallBudget.of(remainingMs, System.currentTimeMillis());
    if (budget.spent()) {
      return Future.failedFuture(new ApiError.Failure(new ApiError(504, ApiError.DB_TIMEOUT,
        "the request's deadline passed before it reached the database")));
    }
    String requestId = ctx.get(REQUEST_ID_KEY);
    String key = ctx.get(IDEMPOTENCY_KEY);
    if (local != null) {
      return local.request(action, body, requestId, budget.proxyBudgetMs(), budget.deadlineEpochMs(), key)
        .map(reply -> new Answer(reply.body(), reply.cacheStatus(),
          reply.ageSeconds() >= 0 ? Long.toString(reply.ageSeconds()) : null, reply.replayed()));
    }
    DeliveryOptions options = budget.deliveryOptions(action)
      .addHeader(ProxyContract.REQUEST_ID_HEADER, requestId)
      .setLocalOnly(localProxyNode && (action.equals(Action.READY) || action.equals(Action.STATS)));
    if (key != null) {
      options.addHeader(ProxyContract.IDEMPOTENCY_KEY_HEADER, key);
    }
    return vertx.eventBus().<JsonObject>request(ProxyContract.ADDRESS, body, options).map(ProxyCaller::answer);
  }

  private static Answer answer(Message<JsonObject> reply) {
    return new Answer(reply.body(), reply.headers().get(ProxyContract.CACHE_HEADER),
      reply.headers().get(ProxyContract.AGE_HEADER),
      "true".equals(reply.headers().get(ProxyContract.IDEMPOTENT_REPLAYED_HEADER)));
  }
}

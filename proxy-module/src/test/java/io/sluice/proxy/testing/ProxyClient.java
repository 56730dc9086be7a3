package io.sluice.proxy.testing;

import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

/**
 * The tests' one client of the proxy's event-bus contract: every test that talks to the proxy directly sends
 * through here, with an explicit send timeout (the event bus's own default is 30 s).
 */
public final class ProxyClient {

  public static final long DEFAULT_SEND_TIMEOUT_MS = 60_000;

  private final Vertx vertx;
  private final long sendTimeoutMs;

  public ProxyClient(Vertx vertx) {
    this(vertx, DEFAULT_SEND_TIMEOUT_MS);
  }

  public ProxyClient(Vertx vertx, long sendTimeoutMs) {
    this.vertx = vertx;
    this.sendTimeoutMs = sendTimeoutMs;
  }

  /** The whole reply (its headers say where a read came from); no timeout header: the proxy's default budget. */
  public Future<Message<JsonObject>> request(String action, Object body) {
    return vertx.eventBus().request(address(action), body, options(action));
  }

  /** {@link Action#APPLY_CONFIG} goes where the launcher sends it, the local admin address; the rest to the proxy. */
  public static String address(String action) {
    return Action.APPLY_CONFIG.equals(action) ? ProxyContract.ADMIN_ADDRESS : ProxyContract.ADDRESS;
  }

  /** As {@link #request(String, Object)}, with {@code budgetMs} as the request's remaining time. */
  public Future<Message<JsonObject>> request(String action, Object body, long budgetMs) {
    return vertx.eventBus().request(address(action), body,
      options(action).addHeader(ProxyContract.TIMEOUT_HEADER, Long.toString(budgetMs)));
  }

  /** The reply's body. */
  public Future<JsonObject> send(String action, JsonObject body) {
    return request(action, body).map(Message::body);
  }

  /** The reply's body, waited for; a failure is thrown. Not on an event loop. */
  public JsonObject call(String action, JsonObject body) {
    return send(action, body).await();
  }

  /** The proxy's counters ({@link Action#STATS}). */
  public JsonObject stats() {
    return call(Action.STATS, new JsonObject());
  }

  private DeliveryOptions options(String action) {
    return new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, action).setSendTimeout(sendTimeoutMs);
  }
}

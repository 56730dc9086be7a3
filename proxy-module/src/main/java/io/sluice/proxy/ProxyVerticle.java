package io.sluice.proxy;

import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.impl.Node;
import io.sluice.proxy.impl.ProxyFailure;
import io.sluice.proxy.impl.Reply;
import io.sluice.proxy.impl.Requests;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One event loop of the proxy node: a consumer on {@link ProxyContract#ADDRESS} that hands each request to the
 * node ({@link Node#handle}: one pool, one admission, one set of caches for every event loop). Deployed
 * {@code proxy.instances} times by {@link ProxyNode}; the event bus round-robins among them.
 *
 * <p>Invariant: every message gets a reply or a {@code fail(code, text)} with a code of {@link FailureCode}, never
 * silence.
 */
final class ProxyVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(ProxyVerticle.class);

  private final Node node;
  private MessageConsumer<JsonObject> consumer;

  ProxyVerticle(Node node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    consumer = vertx.eventBus().consumer(ProxyContract.ADDRESS, this::handle);
    return consumer.completion()
      .onFailure(err -> log.error("Database proxy consumer not registered: {}", err.getMessage()));
  }

  private void handle(Message<JsonObject> message) {
    String action = message.headers().get(ProxyContract.ACTION_HEADER);
    // Headers are input like the body: only a safe id reaches the log, and the budget is bounded.
    String requestId = Requests.requestId(message.headers().get(ProxyContract.REQUEST_ID_HEADER));
    JsonObject body;
    Long budgetMs;
    Long deadlineEpochMs;
    String idempotencyKey;
    try {
      body = message.body();
      budgetMs = Requests.timeoutMs(message.headers().get(ProxyContract.TIMEOUT_HEADER));
      deadlineEpochMs = Requests.deadlineEpochMs(message.headers().get(ProxyContract.DEADLINE_HEADER));
      idempotencyKey = Requests.idempotencyKey(message.headers().get(ProxyContract.IDEMPOTENCY_KEY_HEADER));
    } catch (ClassCastException e) {
      message.fail(FailureCode.BAD_REQUEST, "message body must be a JSON object");
      return;
    } catch (ProxyFailure e) {
      message.fail(e.code(), e.getMessage());
      return;
    }
    node.handle(action, body, requestId, budgetMs, deadlineEpochMs, idempotencyKey).onComplete(ar -> {
      if (ar.succeeded()) {
        Reply reply = ar.result();
        DeliveryOptions options = new DeliveryOptions();
        if (reply.replayed()) {
          options.addHeader(ProxyContract.IDEMPOTENT_REPLAYED_HEADER, "true");
        }
        if (reply.cacheStatus() != null) {
          options.addHeader(ProxyContract.CACHE_HEADER, reply.cacheStatus());
        }
        if (reply.shownAgeSeconds() >= 0) {
          options.addHeader(ProxyContract.AGE_HEADER, Long.toString(reply.shownAgeSeconds()));
        }
        message.reply(reply.body(), options);
      } else {
        ProxyNode.fail(message, ar.cause(), action, requestId);
      }
    });
  }

  @Override
  public Future<?> stop() {
    // Stop taking requests; the node drains those in flight once every event loop stopped (ProxyNode.undeploy).
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }
}

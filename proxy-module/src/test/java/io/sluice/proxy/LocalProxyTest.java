package io.sluice.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.LocalProxy;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.UUID;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The proxy node called in-process ({@link ProxyNode#local()}), as the HTTP tier of a single process calls it: the
 * same contract as the event bus, handled on the caller's event loop, with no copy.
 */
class LocalProxyTest {

  private static final long BUDGET_MS = 5_000;

  private Vertx vertx;
  private ProxyNode node;
  private LocalProxy local;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    node = ProxyNode.deploy(vertx, TestConfigs.singleShard(TestConfigs.proxyConfig()), Ticker.systemTicker())
      .await();
    local = node.local();
  }

  @AfterEach
  void tearDown() {
    node.undeploy().await();
    vertx.close().await();
  }

  /** Runs {@code call} on a fresh event-loop context and waits for the future it returns. */
  private <T> T onEventLoop(Context context, Supplier<Future<T>> call) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> call.get().onComplete(result));
    return result.future().await();
  }

  private Future<LocalProxy.Reply> request(String action, JsonObject body) {
    return local.request(action, body, null, BUDGET_MS, System.currentTimeMillis() + BUDGET_MS, null);
  }

  @Test
  @DisplayName("a cache hit is answered in the caller's own turn on its own event loop, with the cached object itself"
    + " (no copy), and says it was a hit")
  void aHitIsAnsweredInTheSameTurnWithoutACopy() {
    Context context = vertx.getOrCreateContext();
    JsonObject created = onEventLoop(context, () -> request(Action.CREATE_USER, new JsonObject()
      .put(Fields.NAME, "L").put(Fields.EMAIL, "local-" + UUID.randomUUID() + "@example.com"))).body();
    JsonObject key = new JsonObject().put(Fields.USER_ID, created.getLong(Fields.ID));

    Thread[] ranOn = new Thread[2];
    boolean[] completeAtOnce = new boolean[1];
    LocalProxy.Reply[] replies = new LocalProxy.Reply[2];
    onEventLoop(context, () -> {
      Future<LocalProxy.Reply> first = request(Action.GET_USER, key);
      Future<LocalProxy.Reply> second = request(Action.GET_USER, key);
      completeAtOnce[0] = first.isComplete() && second.isComplete();
      ranOn[0] = Thread.currentThread();
      return Future.all(first, second).onSuccess(all -> {
        ranOn[1] = Thread.currentThread();
        replies[0] = first.result();
        replies[1] = second.result();
      });
    });
    assertTrue(completeAtOnce[0], "both hits answered before the caller's turn ended");
    assertSame(ranOn[0], ranOn[1], "answered on the caller's thread");
    assertEquals(ProxyContract.CACHE_HIT, replies[0].cacheStatus());
    assertEquals(created, replies[0].body());
    assertSame(replies[0].body(), replies[1].body(), "the cache's object, not a copy per read");
  }

  @Test
  @DisplayName("failures are the event bus's: a contract code and message in a ReplyException (400, 404), and"
    + " NO_HANDLERS once the node stops")
  void failuresAsOverTheEventBus() {
    Context context = vertx.getOrCreateContext();
    ReplyException notFound = failure(context, () -> request(Action.GET_USER,
      new JsonObject().put(Fields.USER_ID, Long.MAX_VALUE - 1)));
    assertEquals(FailureCode.NOT_FOUND, notFound.failureCode());
    assertEquals(ReplyFailure.RECIPIENT_FAILURE, notFound.failureType());

    ReplyException bad = failure(context, () -> request(Action.GET_USER, new JsonObject().put(Fields.USER_ID, "x")));
    assertEquals(FailureCode.BAD_REQUEST, bad.failureCode());
    // The same request over the event bus fails the same way.
    Throwable overTheBus = new ProxyClient(vertx).request(Action.GET_USER, new JsonObject().put(Fields.USER_ID, "x"))
      .transform(ar -> Future.succeededFuture(ar.cause())).await();
    assertEquals(bad.failureCode(), assertInstanceOf(ReplyException.class, overTheBus).failureCode());
    assertEquals(bad.getMessage(), overTheBus.getMessage());

    node.undeploy().await();
    ReplyException stopped = failure(context, () -> request(Action.GET_USER,
      new JsonObject().put(Fields.USER_ID, 1)));
    assertEquals(ReplyFailure.NO_HANDLERS, stopped.failureType());
  }

  /** The failure of {@code call}, run on {@code context}. */
  private ReplyException failure(Context context, Supplier<Future<LocalProxy.Reply>> call) {
    Throwable cause = onEventLoop(context, () -> call.get().transform(ar -> {
      assertTrue(ar.failed(), () -> "expected a failure, got " + ar.result());
      return Future.succeededFuture(ar.cause());
    }));
    return assertInstanceOf(ReplyException.class, cause);
  }
}

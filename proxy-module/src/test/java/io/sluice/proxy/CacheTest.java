package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.testing.FakeTicker;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The proxy's read caches, through the event-bus contract, on the real database. */
@ExtendWith(VertxExtension.class)
class CacheTest {

  private Vertx vertx;
  private ProxyClient proxy;
  private final FakeTicker ticker = new FakeTicker();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx);
  }

  @AfterEach
  void tearDown() {
    vertx.close().await();
  }

  /** One shard: these tests count hits, misses and coalesced waits of one shard's caches (ShardsTest covers K). */
  private void deploy(JsonObject config) {
    vertx.deployVerticle(new DatabaseProxyVerticle(ticker),
      new DeploymentOptions().setConfig(TestConfigs.singleShard(config))).await();
  }

  private Message<JsonObject> call(String action, JsonObject body) {
    return proxy.request(action, body).await();
  }

  private long executed() {
    return proxy.stats().getJsonObject("pool").getLong("executed");
  }

  private JsonObject cacheStats(String cache) {
    return proxy.stats().getJsonObject("caches").getJsonObject(cache);
  }

  private long newUser() {
    return call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "C")
      .put(Fields.EMAIL, "c-" + UUID.randomUUID() + "@example.com")).body().getLong(Fields.ID);
  }

  private static JsonObject user(long id) {
    return new JsonObject().put(Fields.USER_ID, id);
  }

  @Test
  @DisplayName("concurrent misses for one cold key run exactly one statement and all get its result")
  void concurrentColdReadsShareOneStatement() {
    deploy(TestConfigs.saturable(4, 100, 300));
    long id = newUser();
    long before = executed();
    long coalescedBefore = cacheStats("settings").getLong("coalescedWaits");

    List<Future<Message<JsonObject>>> replies = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      replies.add(proxy.request(Action.GET_SETTINGS, user(id)));
    }
    Future.all(replies).await();

    assertEquals(1, executed() - before, "one statement for 20 concurrent reads");
    assertEquals(19, cacheStats("settings").getLong("coalescedWaits") - coalescedBefore);
    for (Future<Message<JsonObject>> reply : replies) {
      assertEquals(user(id).put(Fields.SETTINGS, new JsonObject()), reply.result().body());
      assertEquals(ProxyContract.CACHE_MISS, reply.result().headers().get(ProxyContract.CACHE_HEADER));
    }
  }

  @Test
  @DisplayName("a coalesced read is not failed by the deadline of the caller whose load it joined")
  void joinerOutlivesTheStartersDeadline() {
    deploy(TestConfigs.saturable(4, 100, 300));
    long id = newUser();
    Future<Message<JsonObject>> hasty = proxy.request(Action.GET_SETTINGS, user(id), 100);
    Future<Message<JsonObject>> patient = proxy.request(Action.GET_SETTINGS, user(id));
    Future.join(hasty, patient).otherwiseEmpty().await();

    assertEquals(FailureCode.STATEMENT_TIMEOUT,
      assertInstanceOf(ReplyException.class, hasty.cause()).failureCode());
    assertEquals(user(id).put(Fields.SETTINGS, new JsonObject()), patient.result().body());
    assertEquals(1, cacheStats("settings").getLong("coalescedWaits"), "the patient read joined the hasty one");
  }

  @Test
  @DisplayName("a read after each kind of write sees the new value, and repeated reads do not touch the pool")
  void readAfterWriteSeesNewValue() {
    deploy(TestConfigs.proxyConfig());
    long id = newUser();

    long before = executed();
    Message<JsonObject> created = call(Action.GET_USER, user(id));
    assertEquals(ProxyContract.CACHE_HIT, created.headers().get(ProxyContract.CACHE_HEADER), "create writes through");
    assertEquals(id, created.body().getLong(Fields.ID));
    assertEquals(before, executed());

    assertEquals(ProxyContract.CACHE_MISS, call(Action.GET_SETTINGS, user(id)).headers()
      .get(ProxyContract.CACHE_HEADER));
    long afterMiss = executed();
    for (int i = 0; i < 5; i++) {
      assertEquals(ProxyContract.CACHE_HIT, call(Action.GET_SETTINGS, user(id)).headers()
        .get(ProxyContract.CACHE_HEADER));
    }
    assertEquals(afterMiss, executed(), "hits do not touch the pool");
    JsonObject dark = new JsonObject().put("theme", "dark");
    call(Action.PUT_SETTINGS, user(id).put(Fields.SETTINGS, dark));
    assertEquals(dark, call(Action.GET_SETTINGS, user(id)).body().getJsonObject(Fields.SETTINGS));

    JsonObject list = user(id).put(Fields.UNREAD_ONLY, true);
    assertEquals(new JsonArray(), call(Action.LIST_NOTIFICATIONS, list).body().getJsonArray(Fields.NOTIFICATIONS));
    assertEquals(ProxyContract.CACHE_HIT, call(Action.LIST_NOTIFICATIONS, list).headers()
      .get(ProxyContract.CACHE_HEADER));
    long nid = call(Action.CREATE_NOTIFICATION, user(id).put(Fields.TITLE, "t").put(Fields.BODY, "b")).body()
      .getLong(Fields.ID);
    JsonArray unread = call(Action.LIST_NOTIFICATIONS, list).body().getJsonArray(Fields.NOTIFICATIONS);
    assertEquals(1, unread.size());
    assertEquals(nid, unread.getJsonObject(0).getLong(Fields.ID));
    call(Action.MARK_NOTIFICATION_READ, user(id).put(Fields.NOTIFICATION_ID, nid));
    assertEquals(new JsonArray(), call(Action.LIST_NOTIFICATIONS, list).body().getJsonArray(Fields.NOTIFICATIONS));
    assertEquals(true, call(Action.LIST_NOTIFICATIONS, user(id)).body().getJsonArray(Fields.NOTIFICATIONS)
      .getJsonObject(0).getBoolean(Fields.READ));
  }

  @Test
  @DisplayName("an entry is fresh until its TTL on the cache clock, then read again from the database")
  void ttlExpiry() {
    deploy(TestConfigs.proxyConfig());
    long id = newUser();
    call(Action.GET_SETTINGS, user(id));
    long before = executed();

    ticker.advance(Duration.ofSeconds(299));
    Message<JsonObject> fresh = call(Action.GET_SETTINGS, user(id));
    assertEquals(ProxyContract.CACHE_HIT, fresh.headers().get(ProxyContract.CACHE_HEADER));
    assertEquals("299", fresh.headers().get(ProxyContract.AGE_HEADER));
    assertEquals(before, executed());

    ticker.advance(Duration.ofSeconds(2));
    Message<JsonObject> expired = call(Action.GET_SETTINGS, user(id));
    assertEquals(ProxyContract.CACHE_MISS, expired.headers().get(ProxyContract.CACHE_HEADER));
    assertNull(expired.headers().get(ProxyContract.AGE_HEADER));
    assertEquals(before + 1, executed());
  }

  @Test
  @DisplayName("when the pool rejects a read, an expired entry within the grace window answers STALE;"
    + " an uncached key and a write still get 503")
  void staleIfSaturated() {
    JsonObject config = TestConfigs.saturable(1, 0, 1000);
    deploy(config);
    long cached = newUser();
    long other = newUser();
    call(Action.GET_SETTINGS, user(cached));
    ticker.advance(Duration.ofSeconds(400));

    // Hold the only connection with a slow read, and wait until it really holds it.
    Future<Message<JsonObject>> slow = proxy.request(Action.GET_USER, user(other));
    Poll.until(Duration.ofSeconds(30), "the slow read never got the connection",
      () -> proxy.stats().getJsonObject("pool").getInteger("inUse") >= 1);

    Message<JsonObject> stale = call(Action.GET_SETTINGS, user(cached));
    assertEquals(ProxyContract.CACHE_STALE, stale.headers().get(ProxyContract.CACHE_HEADER));
    assertEquals("400", stale.headers().get(ProxyContract.AGE_HEADER));
    assertEquals(user(cached).put(Fields.SETTINGS, new JsonObject()), stale.body());

    Throwable uncached = proxy.request(Action.GET_SETTINGS, user(other)).map(m -> (Throwable) null)
      .otherwise(e -> e).await();
    assertEquals(FailureCode.POOL_SATURATED, assertInstanceOf(ReplyException.class, uncached).failureCode());
    Throwable write = proxy.request(Action.PUT_SETTINGS, user(cached).put(Fields.SETTINGS, new JsonObject()))
      .map(m -> (Throwable) null).otherwise(e -> e).await();
    assertEquals(FailureCode.POOL_SATURATED, assertInstanceOf(ReplyException.class, write).failureCode());
    assertEquals(1, cacheStats("settings").getLong("staleServes"));
    slow.await();
  }
}

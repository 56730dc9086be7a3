package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.testing.FakeTicker;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Messages of other proxy nodes on {@link ProxyContract#CACHE_INVALIDATE_ADDRESS}, published on the event bus to a
 * real proxy node over the real test database: what a valid one drops, and that invalid ones are dropped, counted,
 * and leave the node serving. The consumer runs on the node's context: the tests wait for its counters, never for
 * time.
 */
class CacheInvalidationTest {

  private static final Duration WITHIN = Duration.ofSeconds(30);
  private static final String PEER = "3f1c9a52-0000-4000-8000-00000000beef";

  private Vertx vertx;
  private ProxyClient proxy;
  private ProxyNode node;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx);
    node = ProxyNode.deploy(vertx, TestConfigs.proxyConfig(), new FakeTicker()).await();
  }

  @AfterEach
  void tearDown() {
    node.undeploy().await();
    vertx.close().await();
  }

  private long newUserWithNotification() {
    long id = proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "I")
      .put(Fields.EMAIL, "i-" + UUID.randomUUID() + "@example.com")).getLong(Fields.ID);
    proxy.call(Action.CREATE_NOTIFICATION, new JsonObject().put(Fields.USER_ID, id).put(Fields.TITLE, "hello")
      .put(Fields.BODY, "world"));
    return id;
  }

  private String list(long userId, int limit) {
    return proxy.request(Action.LIST_NOTIFICATIONS, new JsonObject().put(Fields.USER_ID, userId)
      .put(Fields.LIMIT, limit)).await().headers().get(ProxyContract.CACHE_HEADER);
  }

  private JsonObject invalidations() {
    return proxy.stats().getJsonObject("invalidations");
  }

  private long handled() {
    JsonObject stats = invalidations();
    long total = stats.getLong("applied");
    for (String reason : stats.getJsonObject("dropped").fieldNames()) {
      total += stats.getJsonObject("dropped").getLong(reason);
    }
    return total;
  }

  private long notificationsStat(String name) {
    return proxy.stats().getJsonObject("caches").getJsonObject("notifications").getLong(name);
  }

  /** A message as another node publishes it after a notification write of {@code userId}. */
  private static JsonObject peerNotificationWrite(long userId) {
    JsonObject body = new JsonObject().put(Fields.USER_ID, userId).put(Fields.TITLE, "t").put(Fields.BODY, "b");
    return new JsonObject().put("node", PEER).put("action", Action.CREATE_NOTIFICATION).put("body", body)
      .put("reply", new JsonObject().put(Fields.ID, 1L).put(Fields.TITLE, "t"));
  }

  private void publish(Object message) {
    vertx.eventBus().publish(ProxyContract.CACHE_INVALIDATE_ADDRESS, message);
  }

  @Test
  @DisplayName("a peer's notification write drops that user's cached lists, visiting only their keys; another"
    + " user's lists stay cached; the node's own messages are ignored")
  void peerWriteDropsOneUsersLists() {
    long mine = newUserWithNotification();
    long theirs = newUserWithNotification();
    for (long user : new long[] {mine, theirs}) {
      assertEquals(ProxyContract.CACHE_MISS, list(user, 20));
      assertEquals(ProxyContract.CACHE_MISS, list(user, 5));
      assertEquals(ProxyContract.CACHE_HIT, list(user, 20));
    }
    long keysBefore = notificationsStat("groupKeysDropped");

    publish(peerNotificationWrite(mine));
    Poll.until(WITHIN, "the peer's message applied", () -> invalidations().getLong("applied") == 1);

    assertEquals(2, notificationsStat("groupKeysDropped") - keysBefore, "keys visited: that user's two lists");
    assertEquals(ProxyContract.CACHE_MISS, list(mine, 20));
    assertEquals(ProxyContract.CACHE_MISS, list(mine, 5));
    assertEquals(ProxyContract.CACHE_HIT, list(theirs, 20));
    assertEquals(ProxyContract.CACHE_HIT, list(theirs, 5));
    assertEquals(1, invalidations().getLong("applied"), "this node's own writes were published and ignored");
  }

  @Test
  @DisplayName("garbage, unknown fields and actions, wrong id types and a huge key list are dropped, counted by"
    + " reason, drop nothing, and the node keeps serving")
  void invalidMessagesAreDroppedAndCounted() {
    long user = newUserWithNotification();
    assertEquals(ProxyContract.CACHE_MISS, list(user, 20));
    long before = handled();

    publish("garbage");
    publish(Buffer.buffer("{\"node\":"));
    publish(new JsonArray().add(peerNotificationWrite(user)));
    publish(peerNotificationWrite(user).put("cache", "notifications"));
    publish(peerNotificationWrite(user).put("node", 7));
    publish(peerNotificationWrite(user).put("action", "cache.clear"));
    publish(peerNotificationWrite(user).put("action", Action.LIST_NOTIFICATIONS));
    JsonObject stringId = peerNotificationWrite(user);
    stringId.getJsonObject("body").put(Fields.USER_ID, Long.toString(user));
    publish(stringId);
    JsonObject negativeId = peerNotificationWrite(user);
    negativeId.getJsonObject("body").put(Fields.USER_ID, -user);
    publish(negativeId);
    JsonArray keys = new JsonArray();
    for (long id = 1; id <= 50_000; id++) {
      keys.add(id);
    }
    JsonObject hugeKeyList = peerNotificationWrite(user);
    hugeKeyList.getJsonObject("body").put("user_ids", keys);
    publish(hugeKeyList);

    Poll.until(WITHIN, "every message handled", () -> handled() - before == 10);
    JsonObject dropped = invalidations().getJsonObject("dropped");
    assertEquals(5, dropped.getLong("malformed"));
    assertEquals(2, dropped.getLong("unknown_action"));
    assertEquals(2, dropped.getLong("invalid"));
    assertEquals(1, dropped.getLong("too_large"));
    assertEquals(0, invalidations().getLong("applied"));

    assertEquals(ProxyContract.CACHE_HIT, list(user, 20), "nothing was dropped");
    newUserWithNotification();
    publish(peerNotificationWrite(user));
    Poll.until(WITHIN, "a valid message still applied", () -> invalidations().getLong("applied") == 1);
    assertEquals(ProxyContract.CACHE_MISS, list(user, 20));
  }
}

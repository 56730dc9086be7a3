package io.sluice.proxy.impl;

import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.CachesConfig;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.impl.RemoteInvalidations.Reason;
import io.sluice.proxy.testing.FakeTicker;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a node does with the messages of {@link ProxyContract#CACHE_INVALIDATE_ADDRESS}, on real caches and without
 * a database: the cache keys are those the real operations use ({@link Operations#prepare}).
 */
class RemoteInvalidationsTest {

  private static final String ME = "3f1c9a52-0000-4000-8000-000000000001";
  private static final String PEER = "3f1c9a52-0000-4000-8000-000000000002";
  private static final int USERS = 200;

  private final CacheRegistry caches = new CacheRegistry(ProxyConfig.defaults().cache(), new FakeTicker());
  private final RemoteInvalidations invalidations = new RemoteInvalidations(ME, caches);

  private static Operation.CacheRead listRead(long userId, int limit, boolean unreadOnly) {
    return Operations.prepare(Action.LIST_NOTIFICATIONS, new JsonObject().put(Fields.USER_ID, userId)
      .put(Fields.LIMIT, limit).put(Fields.UNREAD_ONLY, unreadOnly)).cacheRead();
  }

  private static Operation.CacheRead pointRead(String action, long userId) {
    return Operations.prepare(action, new JsonObject().put(Fields.USER_ID, userId)).cacheRead();
  }

  private String status(Operation.CacheRead read) {
    return caches.read(read, () -> Future.succeededFuture(new JsonObject())).result().status();
  }

  /** Every user's two notification lists, settings and user entry, cached. */
  private void fillAll() {
    for (long user = 1; user <= USERS; user++) {
      status(listRead(user, 20, false));
      status(listRead(user, 5, true));
      status(pointRead(Action.GET_SETTINGS, user));
      status(pointRead(Action.GET_USER, user));
    }
  }

  private void accept(Object body) {
    assertDoesNotThrow(() -> invalidations.accept(() -> body));
  }

  private static JsonObject notificationCreated(long userId) {
    return RemoteInvalidations.message(PEER, Action.CREATE_NOTIFICATION,
      new JsonObject().put(Fields.USER_ID, userId).put(Fields.TITLE, "t").put(Fields.BODY, "b"),
      new JsonObject().put(Fields.ID, 99L).put(Fields.TITLE, "t"));
  }

  private long notificationsStat(String name) {
    return caches.stats().getJsonObject(CachesConfig.NOTIFICATIONS).getLong(name);
  }

  private long droppedTotal() {
    long total = 0;
    for (Reason reason : Reason.values()) {
      total += invalidations.dropped(reason);
    }
    return total;
  }

  @Test
  @DisplayName("a peer's notification write drops that user's lists only, visiting that user's keys and no other")
  void notificationInvalidationTouchesOneUser() {
    fillAll();
    accept(notificationCreated(7));

    assertEquals(1, invalidations.applied());
    assertEquals(2, notificationsStat("groupKeysDropped"), "keys visited: user 7's two lists, not the cache");
    assertEquals(ProxyContract.CACHE_MISS, status(listRead(7, 20, false)));
    assertEquals(ProxyContract.CACHE_MISS, status(listRead(7, 5, true)));
    assertEquals(ProxyContract.CACHE_HIT, status(listRead(8, 20, false)), "another user's list stays cached");
    assertEquals(ProxyContract.CACHE_HIT, status(pointRead(Action.GET_SETTINGS, 7)), "another cache is untouched");
  }

  @Test
  @DisplayName("today's messages are accepted as they are published: settings.put, user.create, mark-read, and a"
    + " write of unknown outcome (no reply)")
  void todaysMessagesAreAccepted() {
    fillAll();
    JsonObject settings = new JsonObject().put(Fields.USER_ID, 3L).put(Fields.SETTINGS, new JsonObject()
      .put("theme", "dark"));
    accept(new JsonObject().put("node", PEER).put("action", Action.PUT_SETTINGS).put("body", settings)
      .put("reply", settings));
    accept(RemoteInvalidations.message(PEER, Action.CREATE_USER,
      new JsonObject().put(Fields.NAME, "Ada").put(Fields.EMAIL, "ada@example.com"),
      new JsonObject().put(Fields.ID, 4L).put(Fields.NAME, "Ada").put(Fields.EMAIL, "ada@example.com")));
    accept(RemoteInvalidations.message(PEER, Action.MARK_NOTIFICATION_READ,
      new JsonObject().put(Fields.USER_ID, 5L).put(Fields.NOTIFICATION_ID, 12L), new JsonObject()));
    accept(RemoteInvalidations.message(PEER, Action.PUT_SETTINGS, settings.copy().put(Fields.USER_ID, 6L), null));

    assertEquals(4, invalidations.applied());
    assertEquals(0, droppedTotal());
    assertEquals(ProxyContract.CACHE_MISS, status(pointRead(Action.GET_SETTINGS, 3)));
    assertEquals(ProxyContract.CACHE_MISS, status(pointRead(Action.GET_USER, 4)));
    assertEquals(ProxyContract.CACHE_MISS, status(listRead(5, 20, false)));
    assertEquals(ProxyContract.CACHE_MISS, status(pointRead(Action.GET_SETTINGS, 6)));
    assertEquals(ProxyContract.CACHE_HIT, status(pointRead(Action.GET_SETTINGS, 7)));
  }

  @Test
  @DisplayName("this node's own messages are ignored, neither applied nor counted as dropped")
  void ownMessagesAreIgnored() {
    fillAll();
    accept(notificationCreated(7).put("node", ME));
    assertEquals(0, invalidations.applied());
    assertEquals(0, droppedTotal());
    assertEquals(ProxyContract.CACHE_HIT, status(listRead(7, 20, false)));
  }

  @Test
  @DisplayName("not an object, or a body that cannot be decoded: dropped as malformed, nothing thrown")
  void garbageBodiesAreMalformed() {
    accept("garbage");
    accept(Buffer.buffer(new byte[] {0, 1, 2}));
    accept(new JsonArray().add(1));
    accept(null);
    Supplier<Object> undecodable = () -> {
      throw new DecodeException("Failed to decode");
    };
    assertDoesNotThrow(() -> invalidations.accept(undecodable));
    assertEquals(5, invalidations.dropped(Reason.MALFORMED));
    assertEquals(0, invalidations.applied());
  }

  @Test
  @DisplayName("an envelope with an unknown field or a field of the wrong type is malformed, and drops nothing")
  void badEnvelopesAreMalformed() {
    fillAll();
    accept(notificationCreated(7).put("cache", "notifications"));
    accept(notificationCreated(7).put("node", 42));
    accept(notificationCreated(7).put("node", "line\nbreak"));
    accept(notificationCreated(7).put("node", "x".repeat(65)));
    accept(notificationCreated(7).put("action", 7));
    accept(notificationCreated(7).put("body", "user_id=7"));
    accept(notificationCreated(7).put("reply", new JsonArray()));
    JsonObject noBody = notificationCreated(7);
    noBody.remove("body");
    accept(noBody);

    assertEquals(8, invalidations.dropped(Reason.MALFORMED));
    assertEquals(0, invalidations.applied());
    assertEquals(0, notificationsStat("groupInvalidations"));
    assertEquals(ProxyContract.CACHE_HIT, status(listRead(7, 20, false)));
  }

  @Test
  @DisplayName("an action that is not a write, or no action at all, is dropped as unknown")
  void nonWritesAreUnknownActions() {
    fillAll();
    accept(notificationCreated(7).put("action", Action.LIST_NOTIFICATIONS));
    accept(notificationCreated(7).put("action", Action.STATS));
    accept(notificationCreated(7).put("action", Action.APPLY_CONFIG));
    accept(notificationCreated(7).put("action", "cache.clear"));
    assertEquals(4, invalidations.dropped(Reason.UNKNOWN_ACTION));
    assertEquals(ProxyContract.CACHE_HIT, status(listRead(7, 20, false)));
  }

  @Test
  @DisplayName("Action.WRITES is exactly the actions whose operation is a write")
  void writesAreTheWriteActions() {
    JsonObject anyBody = new JsonObject().put(Fields.USER_ID, 1L).put(Fields.NOTIFICATION_ID, 2L)
      .put(Fields.NAME, "Ada").put(Fields.EMAIL, "ada@example.com").put(Fields.TITLE, "t").put(Fields.BODY, "b")
      .put(Fields.SETTINGS, new JsonObject());
    for (String action : Action.ALL) {
      boolean write;
      try {
        write = Operations.prepare(action, anyBody).write();
      } catch (ProxyFailure e) {
        write = false;
      }
      assertEquals(write, Action.WRITES.contains(action), action);
    }
  }

  @Test
  @DisplayName("ids as the request contract defines them: a string, zero, a negative or a fraction is invalid; so"
    + " is a user.create reply without a positive id")
  void badIdsAreInvalid() {
    fillAll();
    for (Object userId : new Object[] {"7", 0, -7, 7.5, Long.MIN_VALUE, null, new JsonObject()}) {
      JsonObject message = notificationCreated(7);
      message.getJsonObject("body").put(Fields.USER_ID, userId);
      accept(message);
    }
    JsonObject user = new JsonObject().put(Fields.NAME, "Ada").put(Fields.EMAIL, "ada@example.com");
    accept(RemoteInvalidations.message(PEER, Action.CREATE_USER, user, new JsonObject().put(Fields.ID, "4")));
    accept(RemoteInvalidations.message(PEER, Action.CREATE_USER, user, new JsonObject()));
    accept(RemoteInvalidations.message(PEER, Action.CREATE_USER, user, new JsonObject().put(Fields.ID, -4)));

    assertEquals(10, invalidations.dropped(Reason.INVALID));
    assertEquals(0, invalidations.applied());
    assertEquals(ProxyContract.CACHE_HIT, status(listRead(7, 20, false)));
    assertEquals(ProxyContract.CACHE_HIT, status(pointRead(Action.GET_USER, 4)));
  }

  @Test
  @DisplayName("a huge key list, a huge string or deep nesting is dropped as too large")
  void oversizedMessagesAreTooLarge() {
    fillAll();
    JsonArray manyKeys = new JsonArray();
    for (long user = 1; user <= 100_000; user++) {
      manyKeys.add(user);
    }
    JsonObject hugeList = notificationCreated(7);
    hugeList.getJsonObject("body").put("user_ids", manyKeys);
    accept(hugeList);

    JsonObject hugeString = notificationCreated(7);
    hugeString.getJsonObject("body").put(Fields.BODY, "x".repeat(RemoteInvalidations.MAX_ENCODED_CHARS));
    accept(hugeString);

    JsonObject deep = new JsonObject();
    for (int i = 0; i < 1000; i++) {
      deep = new JsonObject().put("d", deep);
    }
    JsonObject deepSettings = RemoteInvalidations.message(PEER, Action.PUT_SETTINGS,
      new JsonObject().put(Fields.USER_ID, 7L).put(Fields.SETTINGS, deep), null);
    accept(deepSettings);

    assertEquals(3, invalidations.dropped(Reason.TOO_LARGE));
    assertEquals(0, invalidations.applied());
    assertEquals(ProxyContract.CACHE_HIT, status(listRead(7, 20, false)));
    assertEquals(ProxyContract.CACHE_HIT, status(pointRead(Action.GET_SETTINGS, 7)));
  }

  @Test
  @DisplayName("the size walk stops as soon as the budget is spent, and accepts the largest and the deepest valid"
    + " messages")
  void budgetWalk() {
    assertTrue(RemoteInvalidations.JsonBudget.within(new JsonObject().put("a", "b"), 20, 2));
    assertFalse(RemoteInvalidations.JsonBudget.within(new JsonObject().put("a", "x".repeat(100)), 20, 2));
    assertFalse(RemoteInvalidations.JsonBudget.within(new JsonObject().put("a", new JsonObject()), 100, 1));
    JsonObject settings = new JsonObject();
    for (int i = 0; settings.encode().length() < Fields.MAX_SETTINGS_BYTES - 40; i++) {
      settings.put("k" + i, "v".repeat(20));
    }
    JsonObject body = new JsonObject().put(Fields.USER_ID, 1L).put(Fields.SETTINGS, settings);
    JsonObject largest = RemoteInvalidations.message(PEER, Action.PUT_SETTINGS, body, body);
    assertTrue(RemoteInvalidations.JsonBudget.within(largest, RemoteInvalidations.MAX_ENCODED_CHARS,
      RemoteInvalidations.MAX_DEPTH));
    accept(largest);

    JsonArray numbers = new JsonArray();
    while (new JsonObject().put("n", numbers).encode().length() < Fields.MAX_SETTINGS_BYTES - 10) {
      numbers.add(numbers.size() % 10);
    }
    JsonObject numbersBody = new JsonObject().put(Fields.USER_ID, 1L).put(Fields.SETTINGS,
      new JsonObject().put("n", numbers));
    accept(RemoteInvalidations.message(PEER, Action.PUT_SETTINGS, numbersBody, numbersBody));
    assertEquals(2, invalidations.applied(), "16 KiB of small numbers, in body and reply");

    JsonObject deepest = new JsonObject();
    for (int level = 1; level < Requests.MAX_SETTINGS_DEPTH; level++) {
      deepest = new JsonObject().put("d", deepest);
    }
    JsonObject deepBody = new JsonObject().put(Fields.USER_ID, 1L).put(Fields.SETTINGS, deepest);
    accept(RemoteInvalidations.message(PEER, Action.PUT_SETTINGS, deepBody, deepBody));
    assertEquals(3, invalidations.applied(), "settings as deep as a request may send them");
  }

  @Test
  @DisplayName("the size estimate is the encoding's length, give or take a comma per container")
  void estimateFollowsTheEncoding() {
    JsonObject sample = new JsonObject().put("a", 1).put("b", -42L).put("c", 2.5).put("d", true).put("e", false)
      .putNull("f").put("g", "text").put("h", new JsonArray().add(1).add("x").add(new JsonObject()))
      .put("i", Long.MIN_VALUE);
    int length = sample.encode().length();
    int containers = 3;
    assertTrue(RemoteInvalidations.JsonBudget.within(sample, length + containers, 5));
    assertFalse(RemoteInvalidations.JsonBudget.within(sample, length - 1, 5));
  }

  @Test
  @DisplayName("the counters show in the stats by reason")
  void statsByReason() {
    accept("garbage");
    accept(notificationCreated(1));
    JsonObject stats = invalidations.stats();
    assertEquals(1, stats.getLong("applied"));
    assertEquals(1, stats.getJsonObject("dropped").getLong("malformed"));
    assertEquals(0, stats.getJsonObject("dropped").getLong("too_large"));
    assertEquals(0, stats.getJsonObject("dropped").getLong("unknown_action"));
    assertEquals(0, stats.getJsonObject("dropped").getLong("invalid"));
  }
}

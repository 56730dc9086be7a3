package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.CachesConfig;
import io.sluice.proxy.testing.FakeTicker;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hot key loads once per node, not once per event loop: the node's one set of caches is shared by the 4 event
 * loops that consume the proxy address.
 */
class HotKeyTest {

  private static final int EVENT_LOOPS = 4;
  private static final int CONCURRENT_READS = 20;
  private static final int REPEATED_READS = 8;
  /** Rounds of concurrent misses, each on a key of its own. */
  private static final int ROUNDS = 20;
  /** Each statement sleeps this long first, so that every concurrent read arrives while the first one loads. */
  private static final long LATENCY_MS = 100;
  /** A request the proxy never answers fails after this, not after the client's default minute. */
  private static final long SEND_TIMEOUT_MS = 10_000;

  private final FakeTicker ticker = new FakeTicker();
  private Vertx vertx;
  private ProxyClient proxy;
  private ProxyNode node;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx, SEND_TIMEOUT_MS);
  }

  @AfterEach
  void tearDown() {
    if (node != null) {
      node.undeploy().await();
    }
    vertx.close().await();
  }

  private JsonObject users() {
    return proxy.stats().getJsonObject("caches").getJsonObject(CachesConfig.USERS);
  }

  private void deploy() {
    JsonObject config = TestConfigs.shards(TestConfigs.saturable(4, 100, LATENCY_MS), EVENT_LOOPS);
    node = ProxyNode.deploy(vertx, config, ticker).await();
    assertEquals(EVENT_LOOPS, node.eventLoops());
  }

  private Future<Message<JsonObject>> sendFrom(Context sender, JsonObject body) {
    Promise<Message<JsonObject>> reply = Promise.promise();
    sender.runOnContext(v -> proxy.request(Action.GET_USER, body).onComplete(reply));
    return reply.future();
  }

  /** A user the node's users cache no longer answers for: written through by its create, then past the TTL. */
  private JsonObject coldUser() {
    JsonObject user = proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "H")
      .put(Fields.EMAIL, "hot-" + UUID.randomUUID() + "@example.com"));
    // Past the TTL the entry no longer answers, and the next read of the key loads it from the database (the entry
    // is only kept as a stale fallback for a saturated pool).
    ticker.advance(Duration.ofSeconds(CachesConfig.DEFAULT_USERS_TTL_SECONDS + 1));
    return user;
  }

  private static JsonObject key(JsonObject user) {
    return new JsonObject().put(Fields.USER_ID, user.getLong(Fields.ID));
  }

  private List<Context> senders() {
    return IntStream.range(0, EVENT_LOOPS).mapToObj(i -> vertx.getOrCreateContext()).toList();
  }

  @Test
  @DisplayName("with 4 event loops, a key loaded once is a hit on every event loop: each read repeated after the"
    + " miss is a hit and loads nothing")
  void aLoadedKeyIsAHitOnEveryEventLoop() {
    deploy();
    JsonObject user = coldUser();
    List<Context> senders = senders();
    JsonObject before = users();

    Message<JsonObject> miss = sendFrom(senders.get(0), key(user)).await();
    assertEquals(ProxyContract.CACHE_MISS, miss.headers().get(ProxyContract.CACHE_HEADER));
    assertEquals(user, miss.body());
    for (int i = 0; i < REPEATED_READS; i++) {
      // The event bus hands successive requests to successive event loops of the node.
      Message<JsonObject> reply = sendFrom(senders.get(i % senders.size()), key(user)).await();
      assertEquals(ProxyContract.CACHE_HIT, reply.headers().get(ProxyContract.CACHE_HEADER), "repeated read " + i);
      assertEquals(user, reply.body());
    }
    JsonObject after = users();
    assertEquals(1, after.getLong("misses") - before.getLong("misses"), "one load for the node: " + after);
    assertEquals(REPEATED_READS, after.getLong("hits") - before.getLong("hits"));
  }

  @Test
  @DisplayName("with 4 event loops, 20 concurrent reads of a key not in the cache load it once for the node, and"
    + " every one of them is answered with it")
  void concurrentMissesLoadOncePerNode() {
    deploy();
    List<Context> senders = senders();
    for (int round = 0; round < ROUNDS; round++) {
      JsonObject user = coldUser();
      JsonObject before = users();
      List<Future<Message<JsonObject>>> replies = new ArrayList<>();
      for (int i = 0; i < CONCURRENT_READS; i++) {
        replies.add(sendFrom(senders.get(i % senders.size()), key(user)));
      }
      Future.join(replies).otherwiseEmpty().await();

      for (Future<Message<JsonObject>> reply : replies) {
        int r = round;
        assertTrue(reply.succeeded(), () -> "round " + r + ": a concurrent read failed: " + reply.cause());
        assertEquals(user, reply.result().body());
        assertEquals(ProxyContract.CACHE_MISS, reply.result().headers().get(ProxyContract.CACHE_HEADER));
      }
      JsonObject after = users();
      assertEquals(1, after.getLong("misses") - before.getLong("misses"),
        "round " + round + ": one load for the node: " + after);
      assertEquals(CONCURRENT_READS - 1, after.getLong("coalescedWaits") - before.getLong("coalescedWaits"));
    }
  }
}

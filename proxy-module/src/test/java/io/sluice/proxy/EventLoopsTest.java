package io.sluice.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A proxy node served by several event loops ({@code proxy.instances} ≥ 2), against the real test database: one pool
 * and one admission for all of them, the server-side bound, one answer per request, read-after-write, the node's
 * share and the local admin address.
 */
class EventLoopsTest {

  private static final Duration WITHIN = Duration.ofSeconds(30);

  private Vertx vertx;
  private ProxyClient proxy;
  private TestSql sql;
  private ProxyNode node;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx);
    sql = new TestSql(vertx);
  }

  @AfterEach
  void tearDown() {
    if (node != null) {
      node.undeploy().await();
    }
    sql.close();
    vertx.close().await();
  }

  private void deploy(JsonObject config) {
    node = ProxyNode.deploy(vertx, config, Ticker.systemTicker()).await();
  }

  private static JsonObject config(int eventLoops, int maxSize, int maxWaitQueueSize) {
    JsonObject config = TestConfigs.shards(TestConfigs.proxyConfig(), eventLoops);
    config.getJsonObject("db").getJsonObject("pool").put("maxSize", maxSize).put("maxWaitQueueSize", maxWaitQueueSize);
    return config;
  }

  private JsonObject pool() {
    return proxy.stats().getJsonObject("pool");
  }

  /** Connections of the proxy's database user on the server, this check's own excepted. */
  private long serverConnections() {
    return sql.count("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()",
      TestDatabase.settings().user());
  }

  /** Statements of the request pools running on the server (the injected latency runs on those only). */
  private long serverStatements() {
    return sql.count("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()"
      + " AND INFO LIKE '" + FaultSettings.PROCESSLIST_PATTERN + "'", TestDatabase.settings().user());
  }

  /** A new share, tried again while the previous swap's old pools still drain (503, as documented). */
  private void share(IntUnaryOperator share) {
    Poll.until(WITHIN, "the node took its new share",
      () -> node.setShare(share).transform(ar -> Future.succeededFuture(ar.succeeded())).await());
  }

  @Test
  @DisplayName("saturated from many event loops, a node on 2 event loops never holds more than db.pool.maxSize"
    + " connections or statements on the server, every request gets one answer, and every permit comes back")
  void saturatedNodeKeepsTheServerSideBound() {
    int maxSize = 4;
    JsonObject config = config(2, maxSize, 6);
    config.getJsonObject("db").put("statementTimeoutMs", 30_000).getJsonObject("pool").put("acquireTimeoutMs", 30_000);
    config.getJsonObject("faults").put("dbLatency",
      new JsonObject().put("enabled", true).put("minMs", 150).put("maxMs", 150));
    deploy(config);
    assertEquals(2, node.eventLoops());

    int senders = 8;
    int perSender = 25;
    String prefix = "shards-" + UUID.randomUUID();
    ConcurrentLinkedQueue<Future<Message<JsonObject>>> replies = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Future<Message<JsonObject>>> writes = new ConcurrentLinkedQueue<>();
    // Each sender is a verticle instance on its own event loop, sending all its requests at once.
    vertx.deployVerticle(() -> new VerticleBase() {
      @Override
      public Future<?> start() {
        for (int i = 0; i < perSender; i++) {
          if (i % 5 == 0) {
            Future<Message<JsonObject>> write = proxy.request(Action.CREATE_USER, new JsonObject()
              .put(Fields.NAME, "s").put(Fields.EMAIL, prefix + "-" + UUID.randomUUID() + "@example.com"));
            writes.add(write);
            replies.add(write);
          } else {
            replies.add(proxy.request(Action.PING, new JsonObject()));
          }
        }
        return Future.succeededFuture();
      }
    }, new DeploymentOptions().setInstances(senders)).await();

    long maxConnections = 0;
    long maxStatements = 0;
    while (!replies.stream().allMatch(Future::isComplete)) {
      maxConnections = Math.max(maxConnections, serverConnections());
      maxStatements = Math.max(maxStatements, serverStatements());
    }
    // Outside the request pools: the admin connection (kills, capacity guard) and, because fault injection is on, the
    // connection holding the lock the injected latency waits on (LatencyGate).
    assertTrue(maxConnections <= maxSize + 2, "connections seen on the server: " + maxConnections);
    assertTrue(maxStatements <= maxSize, "statements seen on the server: " + maxStatements);
    assertTrue(maxStatements > 0, "the polls saw the proxy's statements");

    assertEquals(senders * perSender, replies.size());
    int succeeded = 0;
    for (Future<Message<JsonObject>> reply : replies) {
      if (reply.succeeded()) {
        succeeded++;
      } else {
        ReplyException failure = assertInstanceOf(ReplyException.class, reply.cause());
        assertEquals(ReplyFailure.RECIPIENT_FAILURE, failure.failureType(), "answered, not timed out");
        assertEquals(FailureCode.POOL_SATURATED, failure.failureCode(), failure.getMessage());
      }
    }
    assertTrue(succeeded >= maxSize, "succeeded: " + succeeded);
    assertTrue(succeeded < replies.size(), "the run saturated the proxy");
    long committed = writes.stream().filter(Future::succeeded).count();
    assertEquals(committed, sql.count("SELECT COUNT(*) FROM users WHERE email LIKE ?", prefix + "-%"),
      "acknowledged writes are exactly the stored ones");

    Poll.until(WITHIN, "every permit back", () -> {
      JsonObject pool = pool();
      return pool.getInteger("inUse") == 0 && pool.getInteger("waiting") == 0;
    });
    JsonObject pool = pool();
    assertEquals(maxSize, pool.getInteger("maxSize"));
    assertEquals(2, pool.getInteger("eventLoops"));
  }

  @Test
  @DisplayName("with 2 event loops, every read after a write sees the new value, whichever loop serves it")
  void readAfterWriteAcrossEventLoops() {
    deploy(config(2, 4, 10));
    long id = proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "R")
      .put(Fields.EMAIL, "raw-" + UUID.randomUUID() + "@example.com")).getLong(Fields.ID);
    JsonObject user = new JsonObject().put(Fields.USER_ID, id);
    for (int i = 0; i < 4; i++) {
      // The node caches the value before the first write.
      assertEquals(new JsonObject(), proxy.call(Action.GET_SETTINGS, user).getJsonObject(Fields.SETTINGS));
    }
    for (int round = 0; round < 10; round++) {
      JsonObject settings = new JsonObject().put("round", round);
      proxy.call(Action.PUT_SETTINGS, user.copy().put(Fields.SETTINGS, settings));
      for (int read = 0; read < 5; read++) {
        assertEquals(settings, proxy.call(Action.GET_SETTINGS, user).getJsonObject(Fields.SETTINGS),
          "round " + round + ", read " + read);
      }
      proxy.call(Action.CREATE_NOTIFICATION, user.copy().put(Fields.TITLE, "t" + round).put(Fields.BODY, "b"));
      for (int read = 0; read < 3; read++) {
        JsonArray list = proxy.call(Action.LIST_NOTIFICATIONS, user).getJsonArray(Fields.NOTIFICATIONS);
        assertEquals(round + 1, list.size(), "round " + round + ", read " + read);
      }
    }
    assertTrue(proxy.stats().getJsonObject("caches").getJsonObject("settings").getLong("hits") > 0);
  }

  @Test
  @DisplayName("setShare shrinks and grows the node's one pool; a share of 0 answers 503 at once, and every event"
    + " loop serves requests while the share is 1")
  void shareShrinksAndGrowsThePool() {
    deploy(config(2, 4, 10));
    assertEquals(4, pool().getInteger("maxSize"));

    share(n -> 1);
    assertEquals(1, pool().getInteger("maxSize"));
    Poll.until(WITHIN, "the old pool closed on the server", () -> serverConnections() <= 1 + 1);
    for (int i = 0; i < 6; i++) {
      // One connection for the node, whichever event loop the request comes in on: no slice is left without one.
      proxy.call(Action.PING, new JsonObject());
    }

    share(n -> 0);
    assertEquals(0, pool().getInteger("maxSize"));
    Future<JsonObject> ping = proxy.send(Action.PING, new JsonObject());
    ping.otherwiseEmpty().await();
    ReplyException failure = assertInstanceOf(ReplyException.class, ping.cause());
    assertEquals(FailureCode.POOL_SATURATED, failure.failureCode());
    assertTrue(failure.getMessage().contains("no connections"), failure.getMessage());
    assertTrue(FailureCode.retryAfterOf(failure.getMessage()) >= 1, failure.getMessage());
    assertEquals(0, pool().getInteger("waiting"), "refused at once, never queued");

    share(IntUnaryOperator.identity());
    assertEquals(4, pool().getInteger("maxSize"));
    for (int i = 0; i < 6; i++) {
      proxy.call(Action.PING, new JsonObject());
    }
  }

  @Test
  @DisplayName("proxy.applyConfig is refused on the proxy's address and served on the local admin address")
  void applyConfigOnlyOnTheAdminAddress() {
    deploy(config(2, 4, 10));
    JsonObject change = new JsonObject().put("db", new JsonObject().put("pool", new JsonObject().put("maxSize", 6)));
    Future<Message<JsonObject>> refused = vertx.eventBus().request(ProxyContract.ADDRESS, change,
      new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, Action.APPLY_CONFIG).setSendTimeout(10_000));
    refused.otherwiseEmpty().await();
    assertEquals(FailureCode.BAD_REQUEST, assertInstanceOf(ReplyException.class, refused.cause()).failureCode());
    assertEquals(4, pool().getInteger("maxSize"));

    assertTrue(proxy.call(Action.APPLY_CONFIG, change).getBoolean("poolSwapped"));
    assertEquals(6, pool().getInteger("maxSize"));
  }

  @Test
  @DisplayName("a write published by another proxy node drops the matching entries here")
  void remoteWriteDropsEntries() {
    deploy(config(2, 4, 10));
    long id = proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "X")
      .put(Fields.EMAIL, "remote-" + UUID.randomUUID() + "@example.com")).getLong(Fields.ID);
    JsonObject user = new JsonObject().put(Fields.USER_ID, id);
    for (int i = 0; i < 4; i++) {
      proxy.call(Action.GET_SETTINGS, user);
    }
    assertEquals(1, settingsCacheSize(), "one entry for the node, whichever loop read it");
    JsonObject written = user.copy().put(Fields.SETTINGS, new JsonObject().put("from", "elsewhere"));
    vertx.eventBus().publish(ProxyContract.CACHE_INVALIDATE_ADDRESS, new JsonObject().put("node", "another-node")
      .put("action", Action.PUT_SETTINGS).put("body", written).put("reply", written));
    Poll.until(WITHIN, "the entries dropped", () -> settingsCacheSize() == 0);
  }

  private long settingsCacheSize() {
    return proxy.stats().getJsonObject("caches").getJsonObject("settings").getLong("size");
  }
}

package io.sluice.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.RowLock;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One FIFO for the whole node: requests that come in on 4 event loops, from senders on 4 other event loops, get the
 * node's one connection in the order they arrived, and the server never sees more than that one statement.
 */
class OneNodeFifoTest {

  private static final Duration WITHIN = Duration.ofSeconds(30);
  private static final int EVENT_LOOPS = 4;
  private static final int SENDERS = 4;
  private static final int REQUESTS = 12;
  /** Every statement of the proxy is preceded by this much sleep on its connection (fault injection). */
  private static final long LATENCY_MS = 100;
  /** Statements of the proxy's user running on the server: the lock holder's idle connection has no INFO. */
  private static final String STATEMENTS_ON_SERVER = "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
    + " WHERE USER = ? AND ID <> CONNECTION_ID() AND ID <> ? AND INFO IS NOT NULL";
  private static final String PUTS_ON_SERVER = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?"
    + " AND ID <> CONNECTION_ID() AND ID <> ? AND INFO LIKE '%INSERT INTO user_settings%'";

  private Vertx vertx;
  private ProxyClient proxy;
  private TestSql sql;
  private ProxyNode node;
  private RowLock lock;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx);
    sql = new TestSql(vertx);
  }

  @AfterEach
  void tearDown() {
    if (lock != null) {
      lock.close();
    }
    if (node != null) {
      node.undeploy().await();
    }
    sql.close();
    vertx.close().await();
  }

  /** Sends from {@code sender}'s event loop; the reply completes there. */
  private Future<Message<JsonObject>> sendFrom(Context sender, String action, JsonObject body) {
    Promise<Message<JsonObject>> reply = Promise.promise();
    sender.runOnContext(v -> proxy.request(action, body).onComplete(reply));
    return reply.future();
  }

  private JsonObject pool() {
    return proxy.stats().getJsonObject("pool");
  }

  private long onServer(String query) {
    return sql.count(query, TestDatabase.settings().user(), lock.connectionId());
  }

  @Test
  @DisplayName("with 4 event loops and one connection, requests sent one after the other from 4 sender event loops"
    + " run and complete in the order they were sent, one statement at a time on the server")
  void requestsRunInArrivalOrderAcrossEventLoops() {
    JsonObject config = TestConfigs.shards(TestConfigs.saturable(1, 100, LATENCY_MS), EVENT_LOOPS);
    node = ProxyNode.deploy(vertx, config, Ticker.systemTicker()).await();
    assertEquals(EVENT_LOOPS, pool().getInteger("eventLoops"));
    long user = proxy.call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "F")
      .put(Fields.EMAIL, "fifo-" + UUID.randomUUID() + "@example.com")).getLong(Fields.ID);
    JsonObject userBody = new JsonObject().put(Fields.USER_ID, user);
    proxy.call(Action.PUT_SETTINGS, userBody.copy().put(Fields.SETTINGS, new JsonObject()));

    // The node's one connection is held by a put blocked on a row lock, so that the line only grows while it is
    // built: each request is sent once the one before it is in line, which fixes the order of arrival.
    lock = RowLock.userSettings(vertx, List.of(user));
    Future<Message<JsonObject>> holder = proxy.request(Action.PUT_SETTINGS,
      userBody.copy().put(Fields.SETTINGS, new JsonObject().put("holder", true)));
    Poll.until(WITHIN, "the holder's put waits for the lock on the server", () -> onServer(PUTS_ON_SERVER) == 1);

    List<Context> senders = IntStream.range(0, SENDERS).mapToObj(i -> vertx.getOrCreateContext()).toList();
    ConcurrentLinkedQueue<Integer> completions = new ConcurrentLinkedQueue<>();
    holder.onComplete(ar -> completions.add(-1));
    List<Future<Message<JsonObject>>> replies = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      int n = i;
      replies.add(sendFrom(senders.get(i % SENDERS), Action.CREATE_NOTIFICATION,
        userBody.copy().put(Fields.TITLE, "n" + i).put(Fields.BODY, "fifo"))
        .andThen(ar -> completions.add(n)));
      Poll.until(WITHIN, "request " + i + " in line", () -> pool().getInteger("waiting") == n + 1);
    }
    assertEquals(1, pool().getInteger("inUse"), "the holder keeps the one connection while the line is built");

    lock.release();
    long maxStatements = 0;
    while (!holder.isComplete() || !replies.stream().allMatch(Future::isComplete)) {
      maxStatements = Math.max(maxStatements, onServer(STATEMENTS_ON_SERVER));
    }
    assertTrue(maxStatements <= 1, maxStatements + " statements of the proxy on the server at once, pool of 1");
    assertTrue(maxStatements == 1, "the samples saw the proxy's statements");
    assertTrue(holder.succeeded(), () -> "the holder's put: " + holder.cause());

    // On one connection, the auto-increment ids are the order the inserts ran in.
    List<Long> ids = new ArrayList<>();
    for (Future<Message<JsonObject>> reply : replies) {
      assertTrue(reply.succeeded(), () -> "a queued request failed: " + reply.cause());
      ids.add(reply.result().body().getLong(Fields.ID));
    }
    assertEquals(ids.stream().sorted().toList(), ids, "ran in the order sent: " + ids);
    List<Integer> expected = new ArrayList<>(List.of(-1));
    IntStream.range(0, REQUESTS).forEach(expected::add);
    assertEquals(expected, new ArrayList<>(completions), "answered in the order sent");

    Poll.until(WITHIN, "the connection back", () -> {
      JsonObject pool = pool();
      return pool.getInteger("inUse") == 0 && pool.getInteger("waiting") == 0;
    });
  }
}

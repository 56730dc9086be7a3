package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Action#APPLY_CONFIG} sent by several callers at once, as any event-bus client may: each reconfiguration
 * starts from the one before it, and every pool built is either the one in force or closed.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ReconfigureTest {

  private Vertx vertx;
  private ProxyClient proxy;
  private TestSql sql;
  /** Pool size in force and swaps answered, as the applies' replies said. */
  private int inForce;
  private long swapped;

  @AfterEach
  void close() {
    if (sql != null) {
      sql.close();
    }
    if (vertx != null) {
      vertx.close().await();
    }
  }

  private void deploy(int maxSize) {
    inForce = maxSize;
    vertx = Vertx.vertx();
    JsonObject config = TestConfigs.proxyConfig();
    config.getJsonObject("db").getJsonObject("pool").put("maxSize", maxSize);
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
    proxy = new ProxyClient(vertx, 30_000);
    sql = new TestSql(vertx);
  }

  private Future<JsonObject> apply(JsonObject db) {
    return proxy.send(Action.APPLY_CONFIG, new JsonObject().put("db", db));
  }

  private static JsonObject maxSize(int size) {
    return new JsonObject().put("pool", new JsonObject().put("maxSize", size));
  }

  private JsonObject poolStats() {
    return proxy.stats().getJsonObject("pool");
  }

  /** Connections to the test database on the server, this test's own checker included. */
  private long serverConnections() {
    return sql.count("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND <> 'Daemon'",
      TestDatabase.settings().database());
  }

  @Test
  @DisplayName("two overlapping applies: the second starts from the first's result and the pool in force serves")
  void overlappingAppliesEachStartFromThePreviousResult() {
    deploy(4);
    // Both need the capacity guard (a pool change, a reserve change), so both are in progress at once unless the
    // proxy takes them one after the other.
    Future<JsonObject> resize = apply(maxSize(5));
    Future<JsonObject> reserve = apply(new JsonObject().put("maxConnectionsReservePercent", 20));
    Future.all(resize, reserve).await();

    assertTrue(resize.result().getBoolean("poolSwapped"));
    assertFalse(reserve.result().getBoolean("poolSwapped"));
    assertEquals(5, reserve.result().getJsonObject("pool").getInteger("maxSize"),
      "the second apply started from the config the first one left");
    JsonObject pool = poolStats();
    assertEquals(5, pool.getInteger("maxSize"));
    assertEquals(1, pool.getLong("swaps"));
    List<Future<JsonObject>> pings = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      pings.add(proxy.send(Action.PING, new JsonObject()));
    }
    Future.all(pings).await();
    pings.forEach(ping -> assertEquals("up", ping.result().getString(Fields.DATABASE)));
  }

  @Test
  @DisplayName("a change of db.pool.queueDelayTargetMs alone applies to the running pool: no swap")
  void queueDelayTargetAppliesWithoutASwap() {
    deploy(4);
    JsonObject reply = apply(new JsonObject().put("pool", new JsonObject().put("queueDelayTargetMs", 0))).await();
    assertFalse(reply.getBoolean("poolSwapped"));
    assertEquals(0, reply.getJsonObject("pool").getInteger("queueDelayTargetMs"));
    assertEquals(0, poolStats().getLong("swaps"));
    assertEquals("up", proxy.send(Action.PING, new JsonObject()).await().getString(Fields.DATABASE));
  }

  @Test
  @DisplayName("rounds of concurrent pool changes under load: every pool built is in force or closed")
  void concurrentPoolChangesLeaveOnlyThePoolInForce() {
    deploy(2);
    AtomicBoolean running = new AtomicBoolean(true);
    ConcurrentLinkedQueue<Throwable> loadFailures = new ConcurrentLinkedQueue<>();
    List<Future<Void>> workers = new ArrayList<>();
    for (int w = 0; w < 6; w++) {
      workers.add(pingLoop(running, loadFailures));
    }
    for (int round = 1; round <= 5; round++) {
      // A round is refused whole while the previous round's old pool still drains: fire it again until it swaps.
      Poll.until(Duration.ofSeconds(15), "round " + round + " never swapped a pool", this::concurrentApplies);
    }
    running.set(false);
    Future.all(workers).await();

    assertEquals(List.of(), List.copyOf(loadFailures), "requests failed during the swaps");
    JsonObject pool = poolStats();
    assertEquals(inForce, pool.getInteger("maxSize"), "the last accepted apply is the one in force");
    assertEquals(swapped, pool.getLong("swaps"), "pools swapped vs applies that answered poolSwapped");
    int limit = inForce + 1 + 1;
    // The pool in force, the admin connection and this test's checker: every other pool built was closed.
    Poll.until(Duration.ofSeconds(15), "the server still holds connections of pools that are not in force (limit "
      + limit + ")", () -> serverConnections() <= limit);
  }

  /**
   * Three applies at once, with three different sizes, none of them the one in force: each would build a pool.
   * Each answer is a swap or a refusal because the previous pool still drains. True when any of them swapped.
   */
  private boolean concurrentApplies() {
    List<Future<JsonObject>> applies = new ArrayList<>();
    for (int size = 2; applies.size() < 3; size++) {
      if (size != inForce) {
        applies.add(apply(maxSize(size)));
      }
    }
    Future.join(applies).otherwiseEmpty().await();
    boolean any = false;
    for (Future<JsonObject> reply : applies) {
      if (reply.succeeded()) {
        assertTrue(reply.result().getBoolean("poolSwapped"));
        swapped++;
        inForce = reply.result().getJsonObject("pool").getInteger("maxSize");
        any = true;
      } else {
        ReplyException refused = (ReplyException) reply.cause();
        assertEquals(ReplyFailure.RECIPIENT_FAILURE, refused.failureType());
        assertEquals(FailureCode.POOL_SATURATED, refused.failureCode(), refused.getMessage());
      }
    }
    return any;
  }

  /** Pings one after another until {@code running} turns false; completes then. */
  private Future<Void> pingLoop(AtomicBoolean running, ConcurrentLinkedQueue<Throwable> failures) {
    Promise<Void> done = Promise.promise();
    pingNext(running, failures, done);
    return done.future();
  }

  // Each ping starts from the previous one's reply, not from a future chained to it: a chain as long as the load
  // would unwind recursively when the load stops.
  private void pingNext(AtomicBoolean running, ConcurrentLinkedQueue<Throwable> failures, Promise<Void> done) {
    if (!running.get()) {
      done.complete();
      return;
    }
    proxy.send(Action.PING, new JsonObject()).onComplete(ar -> {
      if (ar.failed()) {
        failures.add(ar.cause());
      }
      pingNext(running, failures, done);
    });
  }
}

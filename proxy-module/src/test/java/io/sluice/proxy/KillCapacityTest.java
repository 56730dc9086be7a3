package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.testing.FaultProxy;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A burst of deadlines as large as the pool, with a slow admin connection (a {@link FaultProxy} delays its every
 * chunk): every statement is killed on the server, none has its connection closed at the socket, and nothing is
 * left running. On loopback the old one-connection admin pool absorbed bursts of 16; slowed, it could not.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KillCapacityTest {

  private static final Duration WITHIN = Duration.ofSeconds(60);
  private static final int POOL = 12;
  /** Per chunk and direction on the admin connection: a kill's round trip is at least twice this. */
  private static final Duration ADMIN_DELAY = Duration.ofMillis(200);
  /**
   * Generous: the kills must be confirmed and their statements ended within it, or their connections are destroyed
   * (which the test counts); a slow server (two cores shared with the build) must not count as the proxy's fault.
   */
  private static final long GRACE_MS = 10_000;
  /** Injected latency far longer than any request's budget. */
  private static final long SLOW_MS = 20_000;
  private static final String SLEEPING =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '" + FaultSettings.PROCESSLIST_PATTERN + "'";

  private Vertx vertx;
  private FaultProxy faults;
  private TestSql sql;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    DbSettings db = TestDatabase.settings();
    faults = FaultProxy.start(db.host(), db.port());
    sql = new TestSql(vertx);
    Poll.until(WITHIN, "no statement of an earlier test still sleeping", () -> sql.count(SLEEPING) == 0);
  }

  @AfterEach
  void tearDown() {
    faults.close();
    sql.close();
    vertx.close().await();
  }

  /**
   * A pool of {@link #POOL} behind the fault proxy whose connections are all open and known (their server ids read),
   * every statement then preceded by a sleep of {@link #SLOW_MS}, and the admin connection slowed.
   */
  private void deployWarmAndSlowAdmin() {
    JsonObject config = TestConfigs.saturable(POOL, 100, 300);
    config.getJsonObject("db").put("host", "127.0.0.1").put("port", faults.port()).put("killGraceMs", GRACE_MS);
    // One kind of request fills the whole pool: no lane may hold it to a share.
    config.getJsonObject("db").put("lanes", new JsonObject().put("enabled", false));
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
    // Each ping holds its connection 300 ms, so POOL of them at once open every connection of the pool.
    Future.all(IntStream.range(0, POOL).mapToObj(i -> ping(30_000)).toList()).await();
    assertEquals(POOL, poolStats().getInteger("open"));
    JsonObject slow = new JsonObject().put("enabled", true).put("minMs", SLOW_MS).put("maxMs", SLOW_MS);
    send(Action.APPLY_CONFIG, new JsonObject().put("faults", new JsonObject().put("dbLatency", slow)), 30_000)
      .await();
    // The admin connection is the first the proxy opens (the start's server check).
    faults.delay(0, ADMIN_DELAY);
  }

  private Future<JsonObject> send(String action, JsonObject body, long budgetMs) {
    return vertx.eventBus().<JsonObject>request(ProxyClient.address(action), body,
      new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, action)
        .addHeader(ProxyContract.TIMEOUT_HEADER, Long.toString(budgetMs))
        .setSendTimeout(budgetMs + TimeUnit.SECONDS.toMillis(30)))
      .map(reply -> reply.body());
  }

  private Future<JsonObject> ping(long budgetMs) {
    return send(Action.PING, new JsonObject(), budgetMs);
  }

  private JsonObject poolStats() {
    return send(Action.STATS, new JsonObject(), 10_000).await().getJsonObject("pool");
  }

  private List<Future<JsonObject>> burst(long budgetMs) {
    return IntStream.range(0, POOL).mapToObj(i -> ping(budgetMs)).toList();
  }

  /** Every request of the burst answered 504, the statements gone from the server, no connection destroyed. */
  private void assertKilledOnTheServer(List<Future<JsonObject>> burst) {
    for (Future<JsonObject> reply : burst) {
      reply.otherwiseEmpty().await();
      assertTrue(reply.failed(), "expected a 504, got " + reply.result());
      assertEquals(FailureCode.STATEMENT_TIMEOUT, assertInstanceOf(ReplyException.class, reply.cause()).failureCode());
    }
    // Within the kill grace of the last answer: kills on one connection are answered in order, and this one is slowed
    // by the fault proxy. (The injected latency is a lock wait, not a SLEEP, which MariaDB may take 2 s to kill:
    // LatencyGate.)
    Poll.until(Duration.ofMillis(GRACE_MS), "no statement of the burst still running on the server after the last"
      + " answer", () -> sql.count(SLEEPING) == 0);
    Poll.until(WITHIN, "every connection of the burst given back", () -> poolStats().getInteger("inUse") == 0);
    JsonObject pool = poolStats();
    assertEquals(0, pool.getLong("connectionsDestroyed"), "connections closed at the socket instead of killed");
    assertEquals(POOL, pool.getInteger("open"));
  }

  @Test
  @DisplayName("a burst of deadlines as large as the pool, over a slow admin connection: every statement killed on"
    + " the server, no connection closed at the socket")
  void burstAsLargeAsThePoolIsKilledOnTheServer() {
    deployWarmAndSlowAdmin();
    List<Future<JsonObject>> burst = burst(1_500);
    Poll.until(WITHIN, POOL + " statements sleeping on the server", () -> sql.count(SLEEPING) == POOL);
    assertKilledOnTheServer(burst);
  }

  @Test
  @DisplayName("a burst of deadlines during a capacity check: the kills do not wait for the check, and the check"
    + " succeeds")
  void burstDuringACapacityCheckIsKilledOnTheServer() {
    deployWarmAndSlowAdmin();
    // A change of the reserve alone runs the capacity guard (no pool swap). On the slowed admin connection it takes
    // at least two delayed round trips; the burst's deadlines fall within them.
    Future<JsonObject> check = send(Action.APPLY_CONFIG,
      new JsonObject().put("db", new JsonObject().put("maxConnectionsReservePercent", 11)), 60_000);
    List<Future<JsonObject>> burst = burst(600);
    assertKilledOnTheServer(burst);
    assertEquals(false, check.await().getBoolean("poolSwapped"));
  }
}

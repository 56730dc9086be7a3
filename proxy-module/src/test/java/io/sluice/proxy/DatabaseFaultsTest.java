package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.testing.FaultProxy;
import io.sluice.proxy.testing.FaultProxy.Mode;
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

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The proxy against a database that misbehaves at the TCP level: a {@link FaultProxy} sits between the proxy's pools
 * and the test database. Everything is observed through the event-bus contract ({@code proxy.stats} included) and,
 * for what runs on the server, through a direct connection to the database that bypasses the fault proxy.
 */
class DatabaseFaultsTest {

  /** Generous bounds for polling; nothing here asserts how fast something happens. */
  private static final Duration WITHIN = Duration.ofSeconds(60);
  private static final long GRACE_MS = 500;
  /** The slow statements: injected latency far longer than any request's budget. */
  private static final long SLOW_MS = 20_000;
  private static final String SLEEPING_IDS =
    "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '" + FaultSettings.PROCESSLIST_PATTERN + "' ORDER BY ID";

  private Vertx vertx;
  private FaultProxy faults;
  private TestSql sql;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    DbSettings db = TestDatabase.settings();
    faults = FaultProxy.start(db.host(), db.port());
    sql = new TestSql(vertx);
    // Sleeps left over from an earlier test would be counted as this test's.
    Poll.until(WITHIN, "no statement of an earlier test still sleeping", () -> sql.longs(SLEEPING_IDS).isEmpty());
  }

  @AfterEach
  void tearDown() {
    faults.close();
    sql.close();
    vertx.close().await();
  }

  /** A small pool behind the fault proxy; every statement preceded by a sleep of {@code latencyMs} when positive. */
  private JsonObject config(int maxSize, long latencyMs) {
    JsonObject config = TestConfigs.saturable(maxSize, 10, Math.max(latencyMs, 0));
    config.getJsonObject("db").put("host", "127.0.0.1").put("port", faults.port()).put("killGraceMs", GRACE_MS);
    config.getJsonObject("faults").getJsonObject("dbLatency").put("enabled", latencyMs > 0);
    return config;
  }

  private String deploy(JsonObject config) {
    return vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
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

  private void latency(long ms) {
    JsonObject latency = new JsonObject().put("enabled", ms > 0).put("minMs", Math.max(ms, 0))
      .put("maxMs", Math.max(ms, 0));
    send(Action.APPLY_CONFIG, new JsonObject().put("faults", new JsonObject().put("dbLatency", latency)), 10_000)
      .await();
  }

  private static int failureCode(Future<?> reply) {
    reply.otherwiseEmpty().await();
    assertTrue(reply.failed(), "expected a failure, got " + reply.result());
    return assertInstanceOf(ReplyException.class, reply.cause()).failureCode();
  }

  /** Sends pings until one succeeds. */
  private void untilRequestsSucceed() {
    Poll.until(WITHIN, "a request succeeds again", () -> ping(5_000).otherwiseEmpty().await() != null);
  }

  /** Starts {@code n} slow requests and returns once all of them are sleeping on the server. */
  private List<Future<JsonObject>> slowRequests(int n, long budgetMs) {
    List<Future<JsonObject>> replies = java.util.stream.IntStream.range(0, n).mapToObj(i -> ping(budgetMs)).toList();
    Poll.until(WITHIN, n + " slow statements sleeping on the server", () -> sql.longs(SLEEPING_IDS).size() == n);
    return replies;
  }

  @Test
  @DisplayName("a host that stops answering mid-statement: 504 at the deadline, slots freed within deadline + grace,"
    + " and requests succeed again once it answers")
  void blackholedStatementsFreeTheirSlots() {
    deploy(config(2, SLOW_MS));
    List<Future<JsonObject>> slow = slowRequests(2, 4_000);
    faults.mode(Mode.BLACKHOLE);
    assertFalse(slow.stream().anyMatch(Future::isComplete), "the requests must still be running at the blackhole");

    for (Future<JsonObject> reply : slow) {
      assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(reply));
    }
    // The kills cannot reach the server, so both connections are closed at the socket and their permits freed.
    Poll.until(WITHIN, "both connections destroyed and their slots free", () -> {
      JsonObject pool = poolStats();
      return pool.getLong("connectionsDestroyed") == 2 && pool.getInteger("inUse") == 0;
    });
    // Still black-holed: a new connection cannot be opened, and the request is answered by its deadline anyway.
    assertEquals(FailureCode.DB_UNAVAILABLE, failureCode(ping(1_000)));
    assertEquals(0, poolStats().getInteger("inUse"));

    latency(0);
    faults.mode(Mode.PASS);
    untilRequestsSucceed();
  }

  @Test
  @DisplayName("a pool swap and an undeploy during a blackhole complete: closing a pool does not wait for the host")
  void poolSwapAndUndeployCompleteDuringBlackhole() {
    // Three connections open (three concurrent requests that each hold one a while); then two of them busy with
    // slow statements, one idle.
    String deployment = deploy(config(3, 300));
    Future.all(ping(10_000), ping(10_000), ping(10_000)).await();
    assertEquals(3, poolStats().getInteger("open"));
    latency(SLOW_MS);
    List<Future<JsonObject>> slow = slowRequests(2, 4_000);
    JsonObject bigger = new JsonObject().put("db", new JsonObject().put("pool", new JsonObject().put("maxSize", 4)));
    assertTrue(send(Action.APPLY_CONFIG, bigger, 10_000).await().getBoolean("poolSwapped"));
    // While the old pool drains beside the new one, the node reports both as held (what a clustered peer's growth
    // gate reads): 3 + 4, not the 4 of the new pool alone.
    JsonObject swapping = poolStats();
    assertEquals(1, swapping.getInteger("poolsDraining"), swapping.encode());
    assertEquals(3 + 4, swapping.getInteger("held"), swapping.encode());
    faults.mode(Mode.BLACKHOLE);

    for (Future<JsonObject> reply : slow) {
      assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(reply));
    }
    // The old pool drains (its two stuck connections destroyed) and closes (its idle one closed at the socket).
    Poll.until(WITHIN, "the old pool drained and closed", () -> poolStats().getInteger("poolsDraining") == 0);
    assertEquals(2, poolStats().getLong("connectionsDestroyed"));
    assertEquals(4, poolStats().getInteger("held"), "the old pool no longer held once closed");

    // A connection of the new pool stuck in its handshake, then the proxy is undeployed.
    assertEquals(FailureCode.DB_UNAVAILABLE, failureCode(ping(1_000)));
    vertx.undeploy(deployment).await();
  }

  @Test
  @DisplayName("a capacity check on a silent host fails as 502, holds up no later reload, and reloads work once it answers")
  void capacityCheckOnASilentHostIsBounded() {
    deploy(config(2, 0));
    ping(10_000).await();
    faults.mode(Mode.BLACKHOLE);
    JsonObject three = new JsonObject().put("db", new JsonObject().put("pool", new JsonObject().put("maxSize", 3)));
    JsonObject four = new JsonObject().put("db", new JsonObject().put("pool", new JsonObject().put("maxSize", 4)));
    // Both sent at once: reconfigurations run one at a time, so the second waits for the first's stuck check.
    Future<JsonObject> first = send(Action.APPLY_CONFIG, three, 10_000);
    Future<JsonObject> second = send(Action.APPLY_CONFIG, four, 10_000);
    assertEquals(FailureCode.DB_UNAVAILABLE, failureCode(first));
    assertEquals(FailureCode.DB_UNAVAILABLE, failureCode(second));
    assertEquals(2, poolStats().getInteger("maxSize"), "nothing was applied");

    faults.mode(Mode.PASS);
    Poll.until(WITHIN, "a reload applies once the host answers",
      () -> send(Action.APPLY_CONFIG, three, 10_000).otherwiseEmpty().await() != null);
    assertEquals(3, poolStats().getInteger("maxSize"));
    untilRequestsSucceed();
  }

  @Test
  @DisplayName("a database restart (every connection reset) is survived without redeploying: requests recover")
  void recoversFromReset() {
    deploy(config(2, 0));
    Future.all(ping(10_000), ping(10_000)).await();
    latency(SLOW_MS);
    Future<JsonObject> inFlight = slowRequests(1, 30_000).get(0);

    faults.mode(Mode.RESET);
    assertEquals(FailureCode.DB_UNAVAILABLE, failureCode(inFlight));
    assertEquals(FailureCode.DB_UNAVAILABLE, failureCode(ping(5_000)));

    latency(0);
    faults.mode(Mode.PASS);
    untilRequestsSucceed();
    Poll.until(WITHIN, "the connections of the failed requests given back", () -> poolStats().getInteger("inUse") == 0);
  }

  @Test
  @DisplayName("a KILL QUERY not confirmed in time: its target connection is destroyed, so the late kill cannot reach"
    + " the next request")
  void unconfirmedKillDestroysItsTarget() {
    deploy(config(1, SLOW_MS));
    // The admin connection is the first the proxy opens (it checks the server before building the request pool):
    // from now on nothing gets through on it, so any kill sent there is held.
    faults.mode(0, Mode.BLACKHOLE);
    Future<JsonObject> first = slowRequests(1, 2_000).get(0);
    long firstConnection = sql.longs(SLEEPING_IDS).get(0);

    assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(first));
    Poll.until(WITHIN, "the connection whose kill was not confirmed destroyed", () -> {
      JsonObject pool = poolStats();
      return pool.getLong("connectionsDestroyed") == 1 && pool.getInteger("inUse") == 0;
    });

    // The next request runs on a new server connection; while it runs, the held kill is delivered.
    latency(3_000);
    Future<JsonObject> next = ping(60_000);
    Poll.until(WITHIN, "the next request sleeping on another server connection",
      () -> sql.longs(SLEEPING_IDS).stream().anyMatch(id -> id != firstConnection));
    faults.mode(0, null);
    assertEquals("up", next.await().getString("database"));
  }
}

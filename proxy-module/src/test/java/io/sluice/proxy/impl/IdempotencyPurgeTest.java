package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The idempotency purge against a real lock: a metadata lock on {@code idempotency_keys} (LOCK TABLES ... WRITE on
 * an admin connection) makes its DELETE wait. The purge must hold a counted admission permit (requests are never
 * handed its pinned connection as free), end by its deadline, and let the next purge run.
 */
class IdempotencyPurgeTest {

  private static final Duration WITHIN = Duration.ofSeconds(60);
  private static final String WAITING_PURGES = "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
    + " WHERE INFO LIKE '%DELETE FROM idempotency_keys%' AND STATE LIKE '%metadata lock%'";
  private static final String KEYS = "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE ?";

  private final String run = UUID.randomUUID().toString().substring(0, 8);
  private Vertx vertx;
  private Context caller;
  private TestSql sql;
  private Node node;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    caller = vertx.getOrCreateContext();
    sql = new TestSql(vertx);
    // One connection, so the purge's is the pool's only one; a statement timeout short enough to watch the purge's
    // deadline pass; the periodic purge never fires on its own (the test runs each purge).
    JsonObject config = TestConfigs.saturable(1, 10, 0);
    config.getJsonObject("db").put("statementTimeoutMs", 1_000).put("killGraceMs", 500);
    config.getJsonObject("faults").getJsonObject("dbLatency").put("enabled", false);
    config.put("idempotency", new JsonObject().put("purgeIntervalMs", 86_400_000).put("purgeBatchSize", 2));
    node = Node.call(caller, () -> Node.start(vertx, config, Ticker.systemTicker(), null, 1,
      IntUnaryOperator.identity())).await();
  }

  @AfterEach
  void tearDown() {
    if (node != null) {
      Node.call(node.context(), () -> node.drainAndClose().compose(v -> node.close())).await();
    }
    sql.close();
    vertx.close().await();
  }

  private Future<Reply> request(String action, JsonObject body, String idempotencyKey) {
    return Node.call(caller, () -> node.handle(action, body, "test-" + run, 10_000L, null, idempotencyKey));
  }

  private Future<Long> purge() {
    return Node.call(node.context(), node::purgeExpiredKeys);
  }

  /** Creates a user under idempotency key {@code key} through the proxy, then ages the key past its expiry. */
  private void expiredKey(String key) throws SQLException {
    JsonObject user = new JsonObject().put(Fields.NAME, "Purge " + run)
      .put(Fields.EMAIL, key + "@example.com");
    request(Action.CREATE_USER, user, key).await();
    try (Connection admin = TestDatabase.admin();
         PreparedStatement age = admin.prepareStatement("UPDATE " + TestDatabase.settings().database()
           + ".idempotency_keys SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 HOUR WHERE idem_key = ?")) {
      age.setString(1, key);
      assertEquals(1, age.executeUpdate());
    }
  }

  @Test
  @DisplayName("a purge blocked by a metadata lock holds a counted permit (requests get 200), ends at its deadline,"
    + " lets the next purge run, and once the lock is gone a purge deletes the expired keys in batches")
  void purgeBlockedByAMetadataLockIsBoundedAndCounted() throws SQLException {
    for (int i = 0; i < 3; i++) {
      expiredKey("purge-" + run + "-" + i);
    }
    request(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "Live " + run)
      .put(Fields.EMAIL, "live-" + run + "@example.com"), "live-" + run).await();

    try (Connection admin = TestDatabase.admin(); Statement lock = admin.createStatement()) {
      lock.execute("LOCK TABLES " + TestDatabase.settings().database() + ".idempotency_keys WRITE");
      Future<Long> first = purge();
      Poll.until(WITHIN, "the purge's DELETE waits for the metadata lock", () -> sql.count(WAITING_PURGES) == 1);

      // The purge holds the only permit: the requests wait in admission's line for it (until the purge's deadline),
      // not at the pool for a connection admission wrongly thought free (which the purge would pin for ever).
      List<Future<Reply>> pings = IntStream.range(0, 2)
        .mapToObj(i -> request(Action.PING, new JsonObject(), null)).toList();
      for (Future<Reply> ping : pings) {
        assertEquals("up", ping.await().body().getString(Fields.DATABASE));
      }

      Poll.until(WITHIN, "the blocked purge ended while the lock is held", first::isComplete);
      assertEquals(FailureCode.STATEMENT_TIMEOUT, assertInstanceOf(ProxyFailure.class, first.cause()).code());
      Poll.until(WITHIN, "the blocked DELETE was stopped on the server", () -> sql.count(WAITING_PURGES) == 0);

      Future<Long> second = purge();
      second.otherwiseEmpty().await();
      assertEquals(FailureCode.STATEMENT_TIMEOUT, assertInstanceOf(ProxyFailure.class, second.cause()).code(),
        "the next purge runs (and meets the lock)");
      lock.execute("UNLOCK TABLES");
    }
    assertEquals(3, sql.count(KEYS, "purge-" + run + "-%"), "nothing deleted while the table was locked");
    assertTrue(purge().await() >= 3);
    assertEquals(0, sql.count(KEYS, "purge-" + run + "-%"), "expired keys deleted");
    assertEquals(1, sql.count(KEYS, "live-" + run), "a live key is kept");
    assertEquals(3, sql.count("SELECT COUNT(*) FROM users WHERE email LIKE ?", "purge-" + run + "-%"),
      "the purge deletes keys, never the writes");
  }
}

package io.sluice.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The injected latency ({@code faults.dbLatency}) against the real test database: it is a wait for the node's lock
 * (LatencyGate), which a deadline's kill ends on the server, and a holder lost on the server is replaced.
 */
class LatencyGateTest {

  private static final Duration WITHIN = Duration.ofSeconds(30);
  /** Far longer than any request's budget: only a kill ends it within the test. */
  private static final long SLOW_MS = 60_000;
  private static final long BUDGET_MS = 1500;
  private static final String LOCK_WAITS = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO "
    + FaultSettings.STATEMENT_MARK + " GET_LOCK%'";
  private static final String INJECTED = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '"
    + FaultSettings.PROCESSLIST_PATTERN + "'";
  /** Idle sessions of the proxy's user: pooled connections, the admin connection, the lock's holder. */
  private static final String IDLE_SESSIONS = "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?"
    + " AND COMMAND = 'Sleep' AND ID <> CONNECTION_ID()";

  private Vertx vertx;
  private ProxyClient proxy;
  private TestSql sql;
  private ProxyNode node;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx);
    sql = new TestSql(vertx);
    Poll.until(WITHIN, "no injected statement of an earlier test still running", () -> sql.count(INJECTED) == 0);
    node = ProxyNode.deploy(vertx, TestConfigs.saturable(2, 2, SLOW_MS), Ticker.systemTicker()).await();
  }

  @AfterEach
  void tearDown() {
    node.undeploy().await();
    sql.close();
    vertx.close().await();
  }

  /**
   * One ping with {@link #BUDGET_MS}. Returns false when its injected statement was not seen waiting for the lock (it
   * slept instead, the holder being new or gone). Otherwise the ping must be answered 504 at its deadline and the
   * wait must then leave the server: only the kill can end it.
   */
  private boolean lockWaitKilledAtItsDeadline() {
    Future<Message<JsonObject>> ping = proxy.request(Action.PING, new JsonObject(), BUDGET_MS);
    boolean lockWait = false;
    while (!ping.isComplete()) {
      lockWait |= sql.count(LOCK_WAITS) == 1;
    }
    if (!lockWait) {
      Poll.until(WITHIN, "the injected statement gone after the answer", () -> sql.count(INJECTED) == 0);
      return false;
    }
    assertTrue(ping.failed(), "expected a 504, got " + ping.result());
    assertEquals(FailureCode.STATEMENT_TIMEOUT, assertInstanceOf(ReplyException.class, ping.cause()).failureCode());
    Poll.until(WITHIN, "the lock wait killed on the server after the answer", () -> sql.count(INJECTED) == 0);
    return true;
  }

  @Test
  @DisplayName("the injected latency waits for the node's lock, and a deadline's kill ends that wait on the server")
  void injectedLatencyIsAKillableLockWait() {
    // The first statements may sleep instead, until the holder has taken the lock.
    Poll.until(WITHIN, "an injected statement that waits for the node's lock", this::lockWaitKilledAtItsDeadline);
  }

  @Test
  @DisplayName("a holder whose session is killed on the server is replaced: the latency waits for the lock again")
  void lostHolderIsReplaced() {
    Poll.until(WITHIN, "an injected statement that waits for the node's lock", this::lockWaitKilledAtItsDeadline);

    // Every idle session of the proxy's user goes, the holder's among them (the pools replace theirs).
    List<Long> idle = sql.longs(IDLE_SESSIONS, TestDatabase.settings().user());
    assertTrue(idle.size() >= 2, "the admin connection and the holder are idle sessions: " + idle);
    for (long id : idle) {
      sql.execute("KILL CONNECTION " + id);
    }

    Poll.until(WITHIN, "an injected statement that waits for a new holder's lock", this::lockWaitKilledAtItsDeadline);
  }
}

package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.DbSettings;
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

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * A ROLLBACK that fails on a connection that is otherwise fine: a {@link FaultProxy} between the proxy and the
 * database answers every ROLLBACK with an error and keeps it from the server, so the server's transaction stays
 * open. The connection must never serve another request: the next borrower's BEGIN would commit that transaction.
 */
class RollbackFailureTest {

  private static final Duration WITHIN = Duration.ofSeconds(60);
  /** Transactions on the server that wrote or locked something: the failed write's, if it leaked. */
  private static final String WRITING_TRANSACTIONS =
    "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0";

  private final String run = UUID.randomUUID().toString().substring(0, 8);
  private Vertx vertx;
  private FaultProxy faults;
  private TestSql sql;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    DbSettings db = TestDatabase.settings();
    faults = FaultProxy.start(db.host(), db.port());
    sql = new TestSql(vertx);
  }

  @AfterEach
  void tearDown() {
    faults.close();
    sql.close();
    vertx.close().await();
  }

  private Future<JsonObject> createUser(String email, String idempotencyKey) {
    DeliveryOptions options = new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, Action.CREATE_USER)
      .addHeader(ProxyContract.TIMEOUT_HEADER, "10000").setSendTimeout(40_000);
    if (idempotencyKey != null) {
      options.addHeader(ProxyContract.IDEMPOTENCY_KEY_HEADER, idempotencyKey);
    }
    return vertx.eventBus().<JsonObject>request(ProxyClient.address(Action.CREATE_USER),
      new JsonObject().put(Fields.NAME, "Rollback " + run).put(Fields.EMAIL, email), options).map(r -> r.body());
  }

  private JsonObject poolStats() {
    return vertx.eventBus().<JsonObject>request(ProxyClient.address(Action.STATS), new JsonObject(),
        new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, Action.STATS).setSendTimeout(10_000))
      .await().body().getJsonObject("pool");
  }

  /** Read as the admin: INNODB_TRX needs the PROCESS privilege. */
  private static long writingTransactions() {
    try (Connection admin = TestDatabase.admin(); Statement query = admin.createStatement();
         ResultSet rows = query.executeQuery(WRITING_TRANSACTIONS)) {
      rows.next();
      return rows.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  @DisplayName("a write whose ROLLBACK fails keeps its own answer, its connection is closed at the socket and never"
    + " serves another request, and nothing it wrote is ever committed")
  void failedRollbackDestroysTheConnection() {
    // One connection: a connection given back to the pool would serve the very next request.
    JsonObject config = TestConfigs.saturable(1, 10, 0);
    config.getJsonObject("db").put("host", "127.0.0.1").put("port", faults.port()).put("killGraceMs", 500);
    config.getJsonObject("faults").getJsonObject("dbLatency").put("enabled", false);
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
    String email = "rollback-" + run + "@example.com";
    createUser(email, null).await();
    assertEquals(0, poolStats().getLong("connectionsDestroyed"));

    // The key is claimed (a row written in the transaction), then the INSERT fails on the duplicate email: the
    // answer is 409 and the transaction must be rolled back; its ROLLBACK is refused.
    String key = "rollback-" + run;
    faults.refuseRollbacks(true);
    Future<JsonObject> conflict = createUser(email, key);
    conflict.otherwiseEmpty().await();
    faults.refuseRollbacks(false);
    assertEquals(FailureCode.CONFLICT, assertInstanceOf(ReplyException.class, conflict.cause()).failureCode());
    assertEquals(1, poolStats().getLong("connectionsDestroyed"));
    // The server noticed the closed connection and rolled its transaction back: nothing is left open to commit.
    Poll.until(WITHIN, "the failed write's transaction is gone from the server",
      () -> writingTransactions() == 0);

    // The next write runs on a new connection; on the old one, its BEGIN would have committed the claimed key.
    createUser("after-" + run + "@example.com", "after-" + run).await();
    assertEquals(0, sql.count("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ?", key),
      "the failed write's key was never committed");
    assertEquals(1, sql.count("SELECT COUNT(*) FROM users WHERE email = ?", email));
  }
}

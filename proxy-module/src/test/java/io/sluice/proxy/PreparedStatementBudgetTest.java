package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The capacity guard's prepared-statement budget: a pool whose connections could cache more prepared statements than
 * the server's {@code max_prepared_stmt_count} allows is refused on reload, like one above {@code max_connections}.
 * The test lowers that server-wide limit for its own duration only (the database is shared by the test JVM).
 */
class PreparedStatementBudgetTest {

  /**
   * Small enough that 8 connections do not fit, large enough that 2 do: less the 10 % reserve 270 are left, room for
   * 4 connections of {@link DbSettings#PREPARED_STATEMENT_CACHE_SIZE}, the admin connection one of them.
   */
  private static final long MAX_PREPARED = 300;

  private Vertx vertx;

  @AfterEach
  void tearDown() {
    if (vertx != null) {
      vertx.close().await();
    }
  }

  @Test
  @DisplayName("a reload to a pool whose prepared-statement caches exceed max_prepared_stmt_count is refused (400)"
    + " naming the keys, and the old pool keeps serving")
  void poolAboveThePreparedStatementBudgetIsRefused() throws SQLException {
    vertx = Vertx.vertx();
    JsonObject config = TestConfigs.singleShard(TestConfigs.proxyConfig());
    config.getJsonObject("db").getJsonObject("pool").put("maxSize", 2);
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
    ProxyClient proxy = new ProxyClient(vertx, 30_000);

    long before = globalMaxPrepared();
    setGlobalMaxPrepared(MAX_PREPARED);
    try {
      Future<JsonObject> eight = proxy.send(Action.APPLY_CONFIG,
        new JsonObject().put("db", new JsonObject().put("pool", new JsonObject().put("maxSize", 8))));
      eight.otherwiseEmpty().await();
      assertTrue(eight.failed(), "expected a refusal, got " + eight.result());
      ReplyException refused = assertInstanceOf(ReplyException.class, eight.cause());
      assertEquals(FailureCode.BAD_REQUEST, refused.failureCode(), refused.getMessage());
      assertTrue(refused.getMessage().contains("max_prepared_stmt_count")
        && refused.getMessage().contains("db.pool.maxSize"), refused.getMessage());

      assertEquals(2, proxy.stats().getJsonObject("pool").getInteger("maxSize"), "nothing was applied");
      assertEquals("up", proxy.call(Action.PING, new JsonObject()).getString(Fields.DATABASE));
    } finally {
      setGlobalMaxPrepared(before);
    }
  }

  private static long globalMaxPrepared() throws SQLException {
    try (Connection admin = TestDatabase.admin(); Statement st = admin.createStatement();
         ResultSet rs = st.executeQuery("SELECT @@GLOBAL.max_prepared_stmt_count")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void setGlobalMaxPrepared(long value) throws SQLException {
    try (Connection admin = TestDatabase.admin();
         var st = admin.prepareStatement("SET GLOBAL max_prepared_stmt_count = ?")) {
      st.setLong(1, value);
      st.execute();
    }
  }
}

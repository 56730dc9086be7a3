package io.sluice.proxy.impl;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.FaultProxy;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.ClosedConnectionException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Closing connections of a host that stopped answering, through a real black-holing TCP proxy. */
class SocketsTest {

  private Vertx vertx;
  private FaultProxy faults;
  private Sockets sockets;
  private Pool pool;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    DbSettings db = TestDatabase.settings();
    faults = FaultProxy.start(db.host(), db.port());
    sockets = new Sockets();
    pool = MySQLBuilder.pool()
      .with(new PoolOptions().setMaxSize(2).setName("sockets-test"))
      .with(db.toNetClientOptions())
      .connectingTo(db.withServer("127.0.0.1", faults.port(), db.user(), db.password()).toConnectOptions())
      .withConnectHandler(sockets::register)
      .using(vertx)
      .build();
  }

  @AfterEach
  void tearDown() {
    faults.close();
    vertx.close().await();
  }

  @Test
  @DisplayName("destroy fails the statement in flight at once, though the host never answers")
  void destroyFailsTheStatementInFlight() {
    SqlConnection conn = pool.getConnection().await();
    Future<?> other = pool.getConnection().await().query("DO SLEEP(30)").execute();
    Future<?> statement = conn.query("DO SLEEP(30)").execute();
    faults.mode(FaultProxy.Mode.BLACKHOLE);

    assertTrue(Sockets.destroy(conn));
    statement.otherwiseEmpty().await();
    assertInstanceOf(ClosedConnectionException.class, statement.cause());
    conn.close().await();
    assertFalse(other.isComplete(), "the other connection is left alone");
  }

  @Test
  @DisplayName("closing a pool whose borrowed connection is stuck completes, and fails what was stuck")
  void poolCloseIsBounded() {
    SqlConnection conn = pool.getConnection().await();
    Future<?> statement = conn.query("DO SLEEP(30)").execute();
    faults.mode(FaultProxy.Mode.BLACKHOLE);

    sockets.close(vertx, pool, "sockets-test", 200).await();
    statement.otherwiseEmpty().await();
    assertInstanceOf(ClosedConnectionException.class, statement.cause(),
      "the stuck statement fails: its socket is closed");
  }
}

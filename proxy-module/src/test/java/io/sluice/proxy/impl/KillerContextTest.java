package io.sluice.proxy.impl;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * A kill's result reaches its caller on the caller's own context (the request's event loop, whose lease and reply it
 * touches), although the one admin connection it travels on was borrowed on another context: a shared connection
 * completes its commands on the context that borrowed it.
 */
class KillerContextTest {

  private Vertx vertx;
  private Pool adminPool;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    DbSettings db = TestDatabase.settings();
    adminPool = MySQLBuilder.pool().with(PoolSettings.adminPoolOptions()).with(db.toNetClientOptions())
      .connectingTo(db.toConnectOptions().setCachePreparedStatements(false)
        .setPipeliningLimit(AdminConnection.PIPELINING_LIMIT))
      .using(vertx).build();
  }

  @AfterEach
  void tearDown() {
    adminPool.close().await();
    vertx.close().await();
  }

  @Test
  @DisplayName("killQuery completes on the caller's context, not on the context that borrowed the admin connection")
  void killCompletesOnTheCallersContext() {
    AdminConnection admin = new AdminConnection(adminPool);
    Killer killer = new Killer(vertx, admin);
    Context borrower = vertx.getOrCreateContext();
    Context caller = vertx.getOrCreateContext();
    assertNotSame(borrower, caller);
    // The node borrows the shared connection first, on its own context (Node.create's server check).
    Promise<Void> borrowed = Promise.promise();
    borrower.runOnContext(v -> admin.get().<Void>mapEmpty().onComplete(borrowed));
    borrowed.future().await();

    // No such server connection: the server answers the KILL with an error, which is a result like any other.
    long nobody = 4_000_000_000L;
    Promise<Context> completedOn = Promise.promise();
    caller.runOnContext(v -> killer.killQuery(nobody, 10_000)
      .onComplete(ar -> completedOn.complete(Vertx.currentContext())));
    assertSame(caller, completedOn.future().await(), "the kill's result ran on another context");
  }
}

package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The incident, rehearsed with fault injection: a small pool under more load than it can hold. */
@ExtendWith(VertxExtension.class)
class SaturationAndTimeoutTest {

  private Vertx vertx;
  private ProxyClient proxy;
  private TestSql sql;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = new ProxyClient(vertx);
    sql = new TestSql(vertx);
  }

  @AfterEach
  void tearDown() {
    sql.close();
    vertx.close().await();
  }

  private void deploy(JsonObject config) {
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
  }

  @Test
  @DisplayName("beyond maxSize + maxWaitQueueSize, requests are rejected with 503 before any admitted one finishes,"
    + " and rejected writes leave nothing behind")
  void overflowIsRejectedAtOnceAndLeavesNothing() {
    int maxSize = 2;
    int queue = 2;
    deploy(TestConfigs.saturable(maxSize, queue, 1000));
    // Open both connections first: connections still being opened count against the wait queue.
    Future.all(proxy.send(Action.PING, new JsonObject()), proxy.send(Action.PING, new JsonObject())).await();

    String prefix = "sat-" + UUID.randomUUID();
    int requests = 10;
    ConcurrentLinkedQueue<Integer> completionOrder = new ConcurrentLinkedQueue<>();
    List<Future<JsonObject>> replies = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      replies.add(proxy.send(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "n" + i)
        .put(Fields.EMAIL, prefix + "-" + i + "@example.com"))
        .andThen(ar -> completionOrder.add(ar.succeeded() ? 201 : ((ReplyException) ar.cause()).failureCode())));
    }
    Future.join(replies).otherwiseEmpty().await();

    long ok = replies.stream().filter(Future::succeeded).count();
    assertEquals(maxSize + queue, ok);
    for (Future<JsonObject> reply : replies) {
      if (reply.failed()) {
        assertEquals(FailureCode.POOL_SATURATED, assertInstanceOf(ReplyException.class, reply.cause()).failureCode());
      }
    }
    List<Integer> order = new ArrayList<>(completionOrder);
    assertEquals(List.of(503, 503, 503, 503, 503, 503, 201, 201, 201, 201), order,
      "every rejection must arrive before the first admitted request completes");
    assertEquals(ok, sql.count("SELECT COUNT(*) FROM users WHERE email LIKE ?", prefix + "-%"));
  }

  @Test
  @DisplayName("a statement slower than the statement timeout is answered 504, and a timed-out write is not applied")
  void slowStatementTimesOutAndItsWriteIsDropped() {
    JsonObject config = TestConfigs.saturable(1, 10, 1500);
    config.getJsonObject("db").put("statementTimeoutMs", 300);
    deploy(config);
    String email = "slow-" + UUID.randomUUID() + "@example.com";

    Future<JsonObject> write = proxy.send(Action.CREATE_USER,
      new JsonObject().put(Fields.NAME, "Slow").put(Fields.EMAIL, email));
    write.otherwiseEmpty().await();
    assertTrue(write.failed(), "the slow write must not succeed");
    assertEquals(FailureCode.STATEMENT_TIMEOUT,
      assertInstanceOf(ReplyException.class, write.cause()).failureCode());

    // The pool has one connection: this ping gets it only after the slow write gave it back.
    proxy.send(Action.PING, new JsonObject()).otherwiseEmpty().await();
    assertEquals(0, sql.count("SELECT COUNT(*) FROM users WHERE email = ?", email));
  }
}

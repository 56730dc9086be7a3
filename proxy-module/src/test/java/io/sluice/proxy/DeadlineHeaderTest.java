package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The absolute deadline and the idempotency key on the event bus, through the contract only: the earlier deadline
 * wins, a deadline spent in a queue fails before any statement, malformed headers are 400, and keyed writes are
 * replayed with the reply header.
 */
class DeadlineHeaderTest {

  private Vertx vertx;
  private TestSql sql;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
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

  private Future<Message<JsonObject>> send(String action, JsonObject body, String timeoutMs, String deadlineEpochMs,
                                           String key) {
    DeliveryOptions options = new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, action)
      .setSendTimeout(60_000);
    if (timeoutMs != null) {
      options.addHeader(ProxyContract.TIMEOUT_HEADER, timeoutMs);
    }
    if (deadlineEpochMs != null) {
      options.addHeader(ProxyContract.DEADLINE_HEADER, deadlineEpochMs);
    }
    if (key != null) {
      options.addHeader(ProxyContract.IDEMPOTENCY_KEY_HEADER, key);
    }
    return vertx.eventBus().request(ProxyContract.ADDRESS, body, options);
  }

  private static int failureCode(Future<?> reply) {
    try {
      reply.await();
    } catch (ReplyException e) {
      return e.failureCode();
    }
    throw new AssertionError("expected a failure, got " + reply.result());
  }

  private long createUser() {
    return send(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "Deadline")
      .put(Fields.EMAIL, "deadline-" + UUID.randomUUID() + "@example.com"), null, null, null).await().body()
      .getLong(Fields.ID);
  }

  @Test
  @DisplayName("a deadline-epoch-ms already passed fails 504 without writing, even with a generous timeout-ms: time"
    + " spent queued counts")
  void spentDeadlineWritesNothing() {
    deploy(TestConfigs.proxyConfig());
    long userId = createUser();
    String title = "spent-" + UUID.randomUUID();
    JsonObject body = new JsonObject().put(Fields.USER_ID, userId).put(Fields.TITLE, title).put(Fields.BODY, "");
    long past = System.currentTimeMillis() - 1;
    assertEquals(FailureCode.STATEMENT_TIMEOUT,
      failureCode(send(Action.CREATE_NOTIFICATION, body, "10000", Long.toString(past), null)));
    assertEquals(0, sql.count("SELECT COUNT(*) FROM notifications WHERE title = ?", title));
  }

  @Test
  @DisplayName("the earlier of deadline-epoch-ms and arrival + timeout-ms is the deadline: a statement slower than"
    + " the absolute deadline is stopped although timeout-ms would allow it")
  void earlierDeadlineWins() {
    // Every statement is delayed 2 s; timeout-ms allows 30 s, the absolute deadline 300 ms.
    deploy(TestConfigs.saturable(2, 10, 2000));
    String deadline = Long.toString(System.currentTimeMillis() + 300);
    assertEquals(FailureCode.STATEMENT_TIMEOUT,
      failureCode(send(Action.GET_USER, new JsonObject().put(Fields.USER_ID, 1), "30000", deadline, null)));
  }

  @Test
  @DisplayName("malformed deadline-epoch-ms and idempotency-key headers are 400")
  void malformedHeaders() {
    deploy(TestConfigs.proxyConfig());
    JsonObject body = new JsonObject().put(Fields.NAME, "X").put(Fields.EMAIL, "x-" + UUID.randomUUID()
      + "@example.com");
    assertEquals(FailureCode.BAD_REQUEST, failureCode(send(Action.CREATE_USER, body, null, "soon", null)));
    assertEquals(FailureCode.BAD_REQUEST, failureCode(send(Action.CREATE_USER, body, null, "0", null)));
    assertEquals(FailureCode.BAD_REQUEST, failureCode(send(Action.CREATE_USER, body, null, null, "a b")));
    assertEquals(FailureCode.BAD_REQUEST, failureCode(send(Action.CREATE_USER, body, null, null, "k".repeat(256))));
    assertEquals(0, sql.count("SELECT COUNT(*) FROM users WHERE email = ?", body.getString(Fields.EMAIL)));
  }

  @Test
  @DisplayName("a keyed create is replayed with idempotent-replayed: true whatever the order of the body's fields;"
    + " a different body is 422")
  void keyedCreateIsReplayed() {
    deploy(TestConfigs.proxyConfig());
    String email = "keyed-" + UUID.randomUUID() + "@example.com";
    String key = UUID.randomUUID().toString();
    Message<JsonObject> first = send(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "K").put(Fields.EMAIL,
      email), null, null, key).await();
    assertNull(first.headers().get(ProxyContract.IDEMPOTENT_REPLAYED_HEADER));
    Message<JsonObject> again = send(Action.CREATE_USER, new JsonObject().put(Fields.EMAIL, email).put(Fields.NAME,
      "K"), null, null, key).await();
    assertEquals("true", again.headers().get(ProxyContract.IDEMPOTENT_REPLAYED_HEADER));
    assertEquals(first.body(), again.body());
    assertEquals(FailureCode.IDEMPOTENCY_KEY_REUSED, failureCode(send(Action.CREATE_USER,
      new JsonObject().put(Fields.NAME, "Other").put(Fields.EMAIL, email), null, null, key)));
    assertEquals(1, sql.count("SELECT COUNT(*) FROM users WHERE email = ?", email));
    assertInstanceOf(Long.class, first.body().getLong(Fields.ID));
  }
}

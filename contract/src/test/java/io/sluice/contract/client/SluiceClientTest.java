package io.sluice.contract.client;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.sluice.contract.client.impl.Failures;
import io.sluice.contract.client.impl.SluiceClientImpl;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client without a proxy: its headers and send timeout for a deadline, its mapping of every kind of failure, and
 * a real (unclustered) event bus on which no proxy is registered. Against a real proxy: {@code ExampleConsumerIT}
 * (app).
 */
class SluiceClientTest {

  private static final long NOW = 1_700_000_000_000L;
  private static final SluiceClientOptions DEFAULTS = new SluiceClientOptions();

  private static Vertx vertx;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() {
    vertx.close().await();
  }

  @Test
  @DisplayName("a deadline 2 s away: send timeout 2000, the proxy's budget 1950 as both headers, the action and key")
  void headersFollowTheDeadline() {
    DeliveryOptions options = SluiceClientImpl.deliveryOptions(Action.CREATE_NOTIFICATION, "key-1",
      Instant.ofEpochMilli(NOW + 2000), NOW, DEFAULTS);
    assertEquals(2000, options.getSendTimeout());
    assertEquals("1950", options.getHeaders().get(ProxyContract.TIMEOUT_HEADER));
    assertEquals(Long.toString(NOW + 1950), options.getHeaders().get(ProxyContract.DEADLINE_HEADER));
    assertEquals(Action.CREATE_NOTIFICATION, options.getHeaders().get(ProxyContract.ACTION_HEADER));
    assertEquals("key-1", options.getHeaders().get(ProxyContract.IDEMPOTENCY_KEY_HEADER));

    DeliveryOptions unkeyed = SluiceClientImpl.deliveryOptions(Action.GET_USER, null,
      Instant.ofEpochMilli(NOW + 2000), NOW, new SluiceClientOptions().setMinReplyMarginMs(100)
        .setMaxReplyMarginMs(500));
    assertEquals("1800", unkeyed.getHeaders().get(ProxyContract.TIMEOUT_HEADER), "the options' margin: 10 %");
    assertNull(unkeyed.getHeaders().get(ProxyContract.IDEMPOTENCY_KEY_HEADER));
  }

  @Test
  void aDeadlineFarAwayCountsAsTheContractsLongestBudget() {
    DeliveryOptions options = SluiceClientImpl.deliveryOptions(Action.GET_USER, null, Instant.MAX, NOW, DEFAULTS);
    assertEquals(ProxyContract.MAX_TIMEOUT_MS, options.getSendTimeout());
  }

  @Test
  void aDeadlinePassedOrTooCloseFailsWithStatementTimeout() {
    for (long inMs : new long[] {-1000, 0, 10}) {
      SluiceException e = assertThrows(SluiceException.class, () -> SluiceClientImpl.deliveryOptions(Action.GET_USER,
        null, Instant.ofEpochMilli(NOW + inMs), NOW, DEFAULTS));
      assertEquals(FailureCode.STATEMENT_TIMEOUT, e.code(), "deadline in " + inMs + " ms");
    }
    assertEquals(FailureCode.STATEMENT_TIMEOUT, assertThrows(SluiceException.class,
      () -> SluiceClientImpl.deliveryOptions(Action.GET_USER, null, Instant.MIN, NOW, DEFAULTS)).code());
  }

  @Test
  @DisplayName("the proxy's failure: its code, its message without the retry marker, the hint as a Duration")
  void recipientFailuresKeepTheProxysCodeAndHint() {
    SluiceException saturated = Failures.of(new ReplyException(ReplyFailure.RECIPIENT_FAILURE,
      FailureCode.POOL_SATURATED, FailureCode.withRetryAfter("pool saturated", 3)), false);
    assertEquals(FailureCode.POOL_SATURATED, saturated.code());
    assertEquals("pool saturated", saturated.getMessage());
    assertEquals(Optional.of(Duration.ofSeconds(3)), saturated.retryAfter());

    SluiceException notFound = Failures.of(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, FailureCode.NOT_FOUND,
      "user 7 not found"), false);
    assertEquals(FailureCode.NOT_FOUND, notFound.code());
    assertEquals("user 7 not found", notFound.getMessage());
    assertEquals(Optional.empty(), notFound.retryAfter());
    assertTrue(notFound.getCause() instanceof ReplyException);
  }

  @Test
  @DisplayName("what the event bus decides: no answer in time is 504 for a read and 520 for a write, no proxy is 502")
  void eventBusFailuresMapToFailureCodes() {
    ReplyException timeout = new ReplyException(ReplyFailure.TIMEOUT, "Timed out after waiting 2000(ms)");
    assertEquals(FailureCode.STATEMENT_TIMEOUT, Failures.of(timeout, false).code());
    assertEquals(FailureCode.OUTCOME_UNKNOWN, Failures.of(timeout, true).code());
    ReplyException noHandlers = new ReplyException(ReplyFailure.NO_HANDLERS, "No handlers for address");
    assertEquals(FailureCode.DB_UNAVAILABLE, Failures.of(noHandlers, true).code());
    assertEquals(FailureCode.INTERNAL, Failures.of(new ReplyException(ReplyFailure.ERROR, "codec"), false).code());
    assertEquals(FailureCode.INTERNAL, Failures.of(new IllegalStateException("unreadable reply"), false).code());
    SluiceException known = Failures.deadlinePassed();
    assertSame(known, Failures.of(known, true));
  }

  @Test
  @DisplayName("on an event bus without a proxy: a passed deadline fails 504 without sending, a live one 502")
  void onAnEventBusWithoutAProxy() {
    SluiceClient client = SluiceClient.create(vertx);
    SluiceException passed = assertThrows(SluiceException.class,
      () -> client.createUser("A", "a@example.com", "k", Instant.now().minusSeconds(1)).await());
    // 504, not 502: had it been sent, the event bus would have answered NO_HANDLERS.
    assertEquals(FailureCode.STATEMENT_TIMEOUT, passed.code());
    SluiceException noProxy = assertThrows(SluiceException.class,
      () -> client.getUser(1, Instant.now().plusSeconds(30)).await());
    assertEquals(FailureCode.DB_UNAVAILABLE, noProxy.code());
  }

  @Test
  void optionsFromJsonRefuseUnknownKeysAndCrossedBounds() {
    SluiceClientOptions options = new SluiceClientOptions(new JsonObject().put("minReplyMarginMs", 20)
      .put("maxReplyMarginMs", 80));
    assertEquals(new JsonObject().put("minReplyMarginMs", 20L).put("maxReplyMarginMs", 80L), options.toJson());
    assertEquals(DEFAULTS.toJson(), new SluiceClientOptions(new JsonObject()).toJson());
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
      () -> new SluiceClientOptions(new JsonObject().put("minReplyMargin", 20)));
    assertTrue(unknown.getMessage().contains("minReplyMargin"), unknown.getMessage());
    assertThrows(IllegalArgumentException.class,
      () -> new SluiceClientOptions(new JsonObject().put("minReplyMarginMs", 90)));
    assertThrows(IllegalArgumentException.class, () -> SluiceClient.create(vertx,
      new SluiceClientOptions().setMinReplyMarginMs(90)));
    assertThrows(IllegalArgumentException.class, () -> new SluiceClientOptions().setMaxReplyMarginMs(-1));
  }
}

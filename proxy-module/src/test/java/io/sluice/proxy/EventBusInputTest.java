package io.sluice.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.config.FaultSettings;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.TestConfigs;
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
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The event-bus headers are input like the body: bounded, validated, and never logged as given when unsafe. */
class EventBusInputTest {

  /** Statements of ours on the server: fault injection makes each borrowed connection wait first. */
  private static final String RUNNING_SLEEPS =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '" + FaultSettings.PROCESSLIST_PATTERN + "'";
  private static final Pattern LOGGED_ID = Pattern.compile("request_id=(\\S*)");

  private Vertx vertx;
  private TestSql sql;
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    sql = new TestSql(vertx);
    logs.start();
    root().addAppender(logs);
  }

  @AfterEach
  void tearDown() {
    root().detachAppender(logs);
    sql.close();
    vertx.close().await();
  }

  private static Logger root() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  /** One connection, every statement delayed by a minute unless killed, a 300 ms statement timeout. */
  private void deploySlow() {
    JsonObject config = TestConfigs.saturable(1, 10, 60_000);
    config.getJsonObject("db").put("statementTimeoutMs", 300);
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(config)).await();
  }

  private Future<JsonObject> getUser(long id, String timeoutMs, String requestId) {
    DeliveryOptions options = new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, Action.GET_USER)
      .setSendTimeout(60_000);
    if (timeoutMs != null) {
      options.addHeader(ProxyContract.TIMEOUT_HEADER, timeoutMs);
    }
    if (requestId != null) {
      options.addHeader(ProxyContract.REQUEST_ID_HEADER, requestId);
    }
    return vertx.eventBus().<JsonObject>request(ProxyContract.ADDRESS, new JsonObject().put(Fields.USER_ID, id),
      options).map(reply -> reply.body());
  }

  private static int failureCode(Future<?> reply) {
    reply.otherwiseEmpty().await();
    assertTrue(reply.failed(), "expected a failure, got " + reply.result());
    return assertInstanceOf(ReplyException.class, reply.cause()).failureCode();
  }

  @Test
  @DisplayName("a timeout-ms far beyond the maximum (even beyond a long) is clamped: the statement is still stopped"
    + " at the statement timeout and killed on the server")
  void hugeTimeoutIsClampedAndStillKilled() {
    deploySlow();
    for (String huge : List.of(Long.toString(Long.MAX_VALUE), "99999999999999999999999999")) {
      assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(getUser(930_001, huge, null)), huge);
      // Without the kill the injected wait of 60 s would run for another minute.
      Poll.until(Duration.ofSeconds(30), "the statement of timeout-ms=" + huge + " still runs on the server",
        () -> sql.count(RUNNING_SLEEPS) == 0);
    }
  }

  @Test
  @DisplayName("a timeout-ms that is not a positive integer is refused with the bad-request code")
  void invalidTimeoutIsBadRequest() {
    deploySlow();
    for (String invalid : List.of("-1", "0", "abc", "1.5", "", "12ms", "+5")) {
      assertEquals(FailureCode.BAD_REQUEST, failureCode(getUser(1, invalid, null)), "timeout-ms=" + invalid);
    }
    assertEquals(0, sql.count(RUNNING_SLEEPS), "a refused request must not reach the database");
  }

  @Test
  @DisplayName("a request-id with a newline, or 1,000 characters long, is replaced by a generated id in the logs")
  void unsafeRequestIdIsNotLogged() {
    deploySlow();
    String marker = "forged-" + UUID.randomUUID();
    String withNewline = "ok\n12:00:00.000 ERROR [main] Fake - " + marker;
    String tooLong = marker + "x".repeat(1000 - marker.length());
    String safeId = "safe-" + UUID.randomUUID();
    // Each request is stopped at its deadline, which the proxy logs with its request id.
    assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(getUser(930_002, "5000", safeId)));
    assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(getUser(930_003, "5000", withNewline)));
    assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(getUser(930_004, "5000", tooLong)));

    List<String> lines = logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertTrue(lines.stream().anyMatch(line -> line.contains("request_id=" + safeId)),
      "a safe id is logged as given: " + lines);
    for (String line : lines) {
      assertFalse(line.contains(marker), "logged as given: " + line);
      assertFalse(line.contains("request_id=") && line.contains("\n"), "a request's log line was split: " + line);
      Matcher id = LOGGED_ID.matcher(line);
      while (id.find()) {
        assertTrue(id.group(1).matches(ProxyContract.REQUEST_ID_PATTERN), "unsafe id logged: " + line);
      }
    }
  }
}

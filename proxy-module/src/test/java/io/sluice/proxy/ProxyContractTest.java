package io.sluice.proxy;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.sluice.proxy.testing.ProxyClient;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.UUID;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The proxy seen only through its event-bus contract, against the real test database. */
@ExtendWith(VertxExtension.class)
class ProxyContractTest {

  private static Vertx vertx;
  private static ProxyClient proxy;
  private static TestSql sql;

  @BeforeAll
  static void deploy() {
    vertx = Vertx.vertx();
    vertx.deployVerticle(new DatabaseProxyVerticle(), new DeploymentOptions().setConfig(TestConfigs.proxyConfig()))
      .await();
    proxy = new ProxyClient(vertx, 10_000);
    sql = new TestSql(vertx);
  }

  @AfterAll
  static void close() {
    sql.close();
    vertx.close().await();
  }

  static JsonObject call(String action, JsonObject body) {
    return proxy.call(action, body);
  }

  static ReplyException failure(String action, JsonObject body) {
    Throwable err = assertThrows(Throwable.class, () -> call(action, body));
    if (err instanceof CompletionException && err.getCause() != null) {
      err = err.getCause();
    }
    ReplyException reply = assertInstanceOf(ReplyException.class, err);
    assertEquals(ReplyFailure.RECIPIENT_FAILURE, reply.failureType());
    return reply;
  }

  static long newUser() {
    String email = "u-" + UUID.randomUUID() + "@example.com";
    return call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "Ada").put(Fields.EMAIL, email))
      .getLong(Fields.ID);
  }

  @Test
  void createdUserCanBeReadBack() {
    String email = "ada-" + UUID.randomUUID() + "@example.com";
    JsonObject created = call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "Ada").put(Fields.EMAIL, email));
    assertTrue(created.getLong(Fields.ID) > 0);
    assertEquals(new JsonObject().put(Fields.ID, created.getLong(Fields.ID)).put(Fields.NAME, "Ada")
      .put(Fields.EMAIL, email), call(Action.GET_USER, new JsonObject().put(Fields.USER_ID, created.getLong("id"))));
  }

  @Test
  void secondUserWithSameEmailIsAConflict() {
    String email = "dup-" + UUID.randomUUID() + "@example.com";
    call(Action.CREATE_USER, new JsonObject().put(Fields.NAME, "One").put(Fields.EMAIL, email));
    assertEquals(FailureCode.CONFLICT, failure(Action.CREATE_USER,
      new JsonObject().put(Fields.NAME, "Two").put(Fields.EMAIL, email)).failureCode());
    assertEquals(1, sql.count("SELECT COUNT(*) FROM users WHERE email = ?", email));
  }

  @Test
  void invalidRequestsAreBadRequests() {
    assertEquals(FailureCode.BAD_REQUEST, failure(Action.CREATE_USER,
      new JsonObject().put(Fields.NAME, "x").put(Fields.EMAIL, "not-an-email")).failureCode());
    assertEquals(FailureCode.BAD_REQUEST, failure(Action.CREATE_USER,
      new JsonObject().put(Fields.NAME, " ").put(Fields.EMAIL, "a@b.co")).failureCode());
    assertEquals(FailureCode.BAD_REQUEST, failure(Action.GET_USER,
      new JsonObject().put(Fields.USER_ID, "1")).failureCode());
    assertEquals(FailureCode.BAD_REQUEST, failure(Action.GET_USER,
      new JsonObject().put(Fields.USER_ID, 0)).failureCode());
    assertEquals(FailureCode.BAD_REQUEST, failure("user.drop", new JsonObject()).failureCode());
    assertEquals(FailureCode.BAD_REQUEST, failure(Action.LIST_NOTIFICATIONS,
      new JsonObject().put(Fields.USER_ID, 1).put(Fields.LIMIT, 101)).failureCode());
    assertEquals(FailureCode.BAD_REQUEST, failure(Action.PUT_SETTINGS,
      new JsonObject().put(Fields.USER_ID, 1).put(Fields.SETTINGS, new JsonArray())).failureCode());
    JsonObject deep = new JsonObject();
    for (int i = 0; i < 40; i++) {
      deep = new JsonObject().put("n", deep);
    }
    assertEquals(FailureCode.BAD_REQUEST, failure(Action.PUT_SETTINGS,
      new JsonObject().put(Fields.USER_ID, 1).put(Fields.SETTINGS, deep)).failureCode(),
      "JSON nested deeper than the servers accept is the client's error, not a 500");
  }

  @Test
  void nonJsonBodyIsABadRequest() {
    Throwable err = assertThrows(Throwable.class, () -> proxy.request(Action.PING, "hello").await());
    assertEquals(FailureCode.BAD_REQUEST, ((ReplyException) err).failureCode());
  }

  @Test
  void unknownUserIsNotFoundForEveryUserOperation() {
    JsonObject unknown = new JsonObject().put(Fields.USER_ID, Long.MAX_VALUE - 7);
    assertEquals(FailureCode.NOT_FOUND, failure(Action.GET_USER, unknown).failureCode());
    assertEquals(FailureCode.NOT_FOUND, failure(Action.GET_SETTINGS, unknown).failureCode());
    assertEquals(FailureCode.NOT_FOUND, failure(Action.PUT_SETTINGS,
      unknown.copy().put(Fields.SETTINGS, new JsonObject())).failureCode());
    assertEquals(FailureCode.NOT_FOUND, failure(Action.LIST_NOTIFICATIONS, unknown).failureCode());
    assertEquals(FailureCode.NOT_FOUND, failure(Action.CREATE_NOTIFICATION,
      unknown.copy().put(Fields.TITLE, "t").put(Fields.BODY, "b")).failureCode());
  }

  @Test
  void settingsAreEmptyUntilPutThenReplacedWhole() {
    long userId = newUser();
    JsonObject key = new JsonObject().put(Fields.USER_ID, userId);
    assertEquals(new JsonObject(), call(Action.GET_SETTINGS, key).getJsonObject(Fields.SETTINGS));
    JsonObject first = new JsonObject().put("theme", "dark").put("nested", new JsonObject().put("a", 1));
    assertEquals(first, call(Action.PUT_SETTINGS, key.copy().put(Fields.SETTINGS, first))
      .getJsonObject(Fields.SETTINGS));
    JsonObject second = new JsonObject().put("language", "fr");
    call(Action.PUT_SETTINGS, key.copy().put(Fields.SETTINGS, second));
    JsonObject read = call(Action.GET_SETTINGS, key);
    assertEquals(userId, read.getLong(Fields.USER_ID));
    assertEquals(second, read.getJsonObject(Fields.SETTINGS));
  }

  @Test
  void notificationsAreListedNewestFirstAndCanBeMarkedRead() {
    long userId = newUser();
    JsonObject key = new JsonObject().put(Fields.USER_ID, userId);
    assertEquals(new JsonArray(), call(Action.LIST_NOTIFICATIONS, key).getJsonArray(Fields.NOTIFICATIONS));
    long first = call(Action.CREATE_NOTIFICATION, key.copy().put(Fields.TITLE, "first").put(Fields.BODY, "1"))
      .getLong(Fields.ID);
    JsonObject second = call(Action.CREATE_NOTIFICATION, key.copy().put(Fields.TITLE, "second").put(Fields.BODY, ""));
    assertEquals(false, second.getBoolean(Fields.READ));
    assertTrue(second.getString(Fields.CREATED_AT).endsWith("Z"));

    JsonArray all = call(Action.LIST_NOTIFICATIONS, key).getJsonArray(Fields.NOTIFICATIONS);
    assertEquals(2, all.size());
    assertEquals(second, all.getJsonObject(0));
    assertEquals(first, all.getJsonObject(1).getLong(Fields.ID));

    call(Action.MARK_NOTIFICATION_READ, key.copy().put(Fields.NOTIFICATION_ID, first));
    call(Action.MARK_NOTIFICATION_READ, key.copy().put(Fields.NOTIFICATION_ID, first));
    JsonArray unread = call(Action.LIST_NOTIFICATIONS, key.copy().put(Fields.UNREAD_ONLY, true))
      .getJsonArray(Fields.NOTIFICATIONS);
    assertEquals(1, unread.size());
    assertEquals(second.getLong(Fields.ID), unread.getJsonObject(0).getLong(Fields.ID));
    assertEquals(1, call(Action.LIST_NOTIFICATIONS, key.copy().put(Fields.LIMIT, 1))
      .getJsonArray(Fields.NOTIFICATIONS).size());
  }

  @Test
  void markingAnotherUsersNotificationIsNotFoundAndChangesNothing() {
    long owner = newUser();
    long other = newUser();
    long nid = call(Action.CREATE_NOTIFICATION,
      new JsonObject().put(Fields.USER_ID, owner).put(Fields.TITLE, "mine").put(Fields.BODY, "x")).getLong(Fields.ID);
    assertEquals(FailureCode.NOT_FOUND, failure(Action.MARK_NOTIFICATION_READ,
      new JsonObject().put(Fields.USER_ID, other).put(Fields.NOTIFICATION_ID, nid)).failureCode());
    assertEquals(0, sql.count("SELECT COUNT(*) FROM notifications WHERE id = ? AND is_read = TRUE", nid));
  }

  @Test
  void pingReportsTheDatabaseUp() {
    assertEquals("up", call(Action.PING, new JsonObject()).getString(Fields.DATABASE));
  }

  @Test
  void readyReportsTheDatabaseUp() {
    assertEquals("up", call(Action.READY, new JsonObject()).getString(Fields.DATABASE));
  }
}

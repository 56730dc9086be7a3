package io.sluice.http;

import io.sluice.api.HttpVerticle;
import io.sluice.launcher.TestSluice;
import io.sluice.proxy.testing.FakeTicker;
import io.sluice.proxy.testing.Poll;
import io.sluice.proxy.testing.TestDatabase;
import io.sluice.proxy.testing.TestSql;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Idempotency-Key on the two creating routes, against the real database: a retry runs at most once, a key reused
 * for another request is refused, a duplicate in flight is told so, and a key expires.
 */
@ExtendWith(VertxExtension.class)
class IdempotencyTest {

  private Vertx vertx;
  /** The service, its Vert.x, its OpenAPI-checked client and SQL reader (all closed by its close()). */
  private TestSluice.Running sluice;
  private WebClient client;
  private TestSql sql;
  private final String run = UUID.randomUUID().toString().substring(0, 8);

  @AfterEach
  void stop() {
    if (sluice != null) {
      sluice.close();
    }
  }

  private void start(JsonObject config, FakeTicker ticker) {
    sluice = ticker == null ? TestSluice.start(config) : TestSluice.start(config, ticker);
    vertx = sluice.vertx();
    client = sluice.client();
    sql = sluice.sql();
  }

  private long createUser() {
    HttpResponse<Buffer> created = client.post("/users").sendJsonObject(new JsonObject().put("name", "Idem " + run)
      .put("email", "idem-" + UUID.randomUUID() + "@example.com")).await();
    assertEquals(201, created.statusCode(), created.bodyAsString());
    return created.bodyAsJsonObject().getLong("id");
  }

  private Future<HttpResponse<Buffer>> notify(long userId, String key, String title) {
    var request = client.post("/users/" + userId + "/notifications");
    if (key != null) {
      request.putHeader(HttpVerticle.IDEMPOTENCY_KEY_HEADER, key);
    }
    return request.sendJsonObject(new JsonObject().put("title", title).put("body", "b"));
  }

  private long stored(String title) {
    return sql.count("SELECT COUNT(*) FROM notifications WHERE title = ?", title);
  }

  private static boolean replayed(HttpResponse<Buffer> response) {
    return "true".equals(response.getHeader(HttpVerticle.IDEMPOTENT_REPLAYED_HEADER));
  }

  @Test
  @DisplayName("a retry with the same key and body gets the stored response with Idempotent-Replayed and writes"
    + " nothing; without a key the same POST writes again")
  void retryIsReplayed() {
    start(TestSluice.config(), null);
    String email = "replay-" + run + "@example.com";
    JsonObject user = new JsonObject().put("name", "Replay").put("email", email);
    HttpResponse<Buffer> first = client.post("/users").putHeader(HttpVerticle.IDEMPOTENCY_KEY_HEADER, "user-" + run)
      .sendJsonObject(user).await();
    assertEquals(201, first.statusCode(), first.bodyAsString());
    assertNull(first.getHeader(HttpVerticle.IDEMPOTENT_REPLAYED_HEADER));
    HttpResponse<Buffer> again = client.post("/users").putHeader(HttpVerticle.IDEMPOTENCY_KEY_HEADER, "user-" + run)
      .sendJsonObject(user).await();
    assertEquals(201, again.statusCode(), again.bodyAsString());
    assertTrue(replayed(again));
    assertEquals(first.bodyAsJsonObject(), again.bodyAsJsonObject());
    assertEquals(1, sql.count("SELECT COUNT(*) FROM users WHERE email = ?", email));

    long userId = createUser();
    String title = "replay-" + run;
    HttpResponse<Buffer> created = notify(userId, "n-" + run, title).await();
    HttpResponse<Buffer> replay = notify(userId, "n-" + run, title).await();
    assertEquals(201, replay.statusCode());
    assertTrue(replayed(replay));
    assertEquals(created.bodyAsJsonObject(), replay.bodyAsJsonObject());
    assertEquals(1, stored(title));
    assertEquals(201, notify(userId, null, title).await().statusCode());
    assertEquals(2, stored(title), "without a key a retry is a new write");
  }

  @Test
  @DisplayName("the same key with a different body gets 422 idempotency_key_reused and writes nothing; keys are"
    + " scoped per user; malformed keys get 400")
  void keyReusedForAnotherRequest() {
    start(TestSluice.config(), null);
    long userId = createUser();
    String key = "k-" + run;
    assertEquals(201, notify(userId, key, "first-" + run).await().statusCode());
    HttpResponse<Buffer> other = notify(userId, key, "second-" + run).await();
    assertEquals(422, other.statusCode(), other.bodyAsString());
    assertEquals("idempotency_key_reused", other.bodyAsJsonObject().getString("error"));
    assertEquals(0, stored("second-" + run));

    long otherUser = createUser();
    HttpResponse<Buffer> elsewhere = notify(otherUser, key, "second-" + run).await();
    assertEquals(201, elsewhere.statusCode(), "another user's scope");
    assertNull(elsewhere.getHeader(HttpVerticle.IDEMPOTENT_REPLAYED_HEADER));

    for (String bad : List.of("x".repeat(256), "has space", "é", "")) {
      HttpResponse<Buffer> refused = notify(userId, bad, "bad-" + run).await();
      assertEquals(400, refused.statusCode(), "key '" + bad + "'");
    }
    assertEquals(0, stored("bad-" + run));
  }

  @Test
  @DisplayName("20 concurrent identical requests with one key write exactly one row; the others get the replay or"
    + " 409 request_in_progress with Retry-After")
  void concurrentDuplicates() {
    // Each statement is delayed 300 ms on the server, so the first is still in flight when the others arrive.
    start(TestSluice.saturable(8, 100, 300), null);
    long userId = createUser();
    String title = "concurrent-" + run;
    List<Future<HttpResponse<Buffer>>> replies = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      replies.add(notify(userId, "c-" + run, title));
    }
    Future.join(replies).await();
    int executed = 0;
    JsonObject body = null;
    for (Future<HttpResponse<Buffer>> reply : replies) {
      HttpResponse<Buffer> response = reply.result();
      if (response.statusCode() == 201) {
        if (!replayed(response)) {
          executed++;
        }
        if (body != null) {
          assertEquals(body, response.bodyAsJsonObject());
        }
        body = response.bodyAsJsonObject();
      } else {
        assertEquals(409, response.statusCode(), response.bodyAsString());
        assertEquals("request_in_progress", response.bodyAsJsonObject().getString("error"));
        assertTrue(Long.parseLong(response.getHeader("Retry-After")) >= 1);
      }
    }
    assertEquals(1, executed);
    assertEquals(1, stored(title));
  }

  /** Moves the key's expiry before the database's now: the TTL passed, by the only clock that decides it. */
  private static void expire(String key) throws SQLException {
    try (Connection admin = TestDatabase.admin();
         PreparedStatement age = admin.prepareStatement("UPDATE " + TestDatabase.settings().database()
           + ".idempotency_keys SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE idem_key = ?")) {
      age.setString(1, key);
      assertEquals(1, age.executeUpdate());
    }
  }

  @Test
  @DisplayName("a node whose clock runs ahead by more than idempotency.ttlHours takes over no live key (the"
    + " database's clock decides); once the key expired by that clock, the same key runs again")
  void keyExpiresByTheDatabaseClock() throws SQLException {
    FakeTicker clock = new FakeTicker();
    start(TestSluice.config(), clock);
    long userId = createUser();
    String key = "ttl-" + run;
    HttpResponse<Buffer> first = notify(userId, key, "ttl-a-" + run).await();
    assertEquals(201, first.statusCode());
    // The node's clock says the 24 h TTL passed; the database's says the key is seconds old.
    clock.advance(Duration.ofHours(25));
    HttpResponse<Buffer> other = notify(userId, key, "ttl-b-" + run).await();
    assertEquals(422, other.statusCode(), other.bodyAsString());
    HttpResponse<Buffer> same = notify(userId, key, "ttl-a-" + run).await();
    assertTrue(replayed(same), "a retry is still replayed: " + same.bodyAsString());
    assertEquals(1, stored("ttl-a-" + run));
    assertEquals(0, stored("ttl-b-" + run));

    expire(key);
    HttpResponse<Buffer> reused = notify(userId, key, "ttl-b-" + run).await();
    assertEquals(201, reused.statusCode(), reused.bodyAsString());
    assertNull(reused.getHeader(HttpVerticle.IDEMPOTENT_REPLAYED_HEADER));
    assertEquals(1, stored("ttl-b-" + run));
    expire(key);
    assertEquals(201, notify(userId, key, "ttl-a-" + run).await().statusCode());
    assertEquals(2, stored("ttl-a-" + run), "the same body after the TTL is a new write");
  }

  @Test
  @DisplayName("expired keys are purged in the background")
  void expiredKeysArePurged() throws SQLException {
    JsonObject config = TestSluice.config();
    config.getJsonObject("idempotency").put("purgeIntervalMs", 1000);
    start(config, null);
    long userId = createUser();
    String key = "purge-" + run;
    assertEquals(201, notify(userId, key, "purge-" + run).await().statusCode());
    String keyRows = "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ?";
    assertEquals(1, sql.count(keyRows, key));
    expire(key);
    Poll.until(Duration.ofSeconds(10), "the expired key is still stored", () -> sql.count(keyRows, key) == 0);
    assertEquals(1, stored("purge-" + run), "the purge deletes keys, never the writes");
  }

  @Test
  @DisplayName("a COMMIT held past the deadline (commits blocked by a test connection) is answered 504"
    + " outcome_unknown, never 201 nor db_timeout; a retry with the same key then writes it exactly once")
  void commitDelayedPastTheDeadline() throws SQLException {
    start(TestSluice.config(), null);
    long userId = createUser();
    String title = "late-commit-" + run;
    try (HeldCommits held = HeldCommits.hold()) {
      HttpResponse<Buffer> answer = client.post("/users/" + userId + "/notifications")
        .putHeader(HttpVerticle.IDEMPOTENCY_KEY_HEADER, "late-" + run)
        .putHeader(HttpVerticle.REQUEST_TIMEOUT_HEADER, "800")
        .sendJsonObject(new JsonObject().put("title", title).put("body", "b")).await();
      assertEquals(504, answer.statusCode(), answer.bodyAsString());
      assertEquals("outcome_unknown", answer.bodyAsJsonObject().getString("error"));
    }
    HttpResponse<Buffer> retried = retryUntilCreated(userId, "late-" + run, title);
    assertEquals(201, retried.statusCode());
    assertEquals(1, stored(title));
  }

  /** Retries with the same key on 409 (in progress), 503 and 504, as a client following the docs would. */
  private HttpResponse<Buffer> retryUntilCreated(long userId, String key, String title) {
    for (int attempt = 0; attempt < 200; attempt++) {
      HttpResponse<Buffer> response = notify(userId, key, title).await();
      int status = response.statusCode();
      if (status != 409 && status != 503 && status != 504) {
        return response;
      }
      // Back off as Retry-After would, a little: the first request's transaction ends within its kill grace.
      vertx.timer(50).await();
    }
    throw new AssertionError("no 201 after 200 attempts");
  }
}

package io.sluice.http;

import io.sluice.api.HttpVerticle;
import io.sluice.launcher.TestSluice;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A write answered {@code outcome_unknown} may have committed: the caches must not keep answering with what it may
 * have replaced. Real database, real COMMIT held by the server.
 */
class UnknownOutcomeCacheTest {

  private TestSluice.Running sluice;
  private WebClient client;

  @BeforeEach
  void start() {
    sluice = TestSluice.start(TestSluice.config());
    client = sluice.client();
  }

  @AfterEach
  void stop() {
    sluice.close();
  }

  /** The settings as a read through the API shows them (cached or not). */
  private JsonObject readSettings(long userId) {
    HttpResponse<Buffer> read = client.get("/users/" + userId + "/settings").send().await();
    assertEquals(200, read.statusCode(), read.bodyAsString());
    return read.bodyAsJsonObject().getJsonObject("settings");
  }

  @Test
  @DisplayName("a settings PUT answered 504 outcome_unknown whose COMMIT then lands: the next read is the new value,"
    + " not the cached old one")
  void unknownOutcomeDropsTheCachedSettings() throws SQLException {
    HttpResponse<Buffer> created = client.post("/users").sendJsonObject(new JsonObject().put("name", "U")
      .put("email", "unknown-" + UUID.randomUUID() + "@example.com")).await();
    assertEquals(201, created.statusCode(), created.bodyAsString());
    long userId = created.bodyAsJsonObject().getLong("id");
    HttpResponse<Buffer> first = client.put("/users/" + userId + "/settings")
      .sendJsonObject(new JsonObject().put("v", 1)).await();
    assertEquals(200, first.statusCode(), first.bodyAsString());
    assertEquals(new JsonObject().put("v", 1), readSettings(userId), "cached by the write");

    try (HeldCommits held = HeldCommits.hold()) {
      HttpResponse<Buffer> answer = client.put("/users/" + userId + "/settings")
        .putHeader(HttpVerticle.REQUEST_TIMEOUT_HEADER, "800")
        .sendJsonObject(new JsonObject().put("v", 2)).await();
      assertEquals(504, answer.statusCode(), answer.bodyAsString());
      assertEquals("outcome_unknown", answer.bodyAsJsonObject().getString("error"));
    }
    // Whether the held COMMIT landed is the server's business; the cache must not answer for it: the next read
    // loads what the row holds now.
    HttpResponse<Buffer> read = client.get("/users/" + userId + "/settings").send().await();
    assertEquals(200, read.statusCode(), read.bodyAsString());
    assertEquals("MISS", read.getHeader(HttpVerticle.CACHE_HEADER), "the old entry was dropped");
    assertEquals(storedSettings(userId), read.bodyAsJsonObject().getJsonObject("settings"));
  }

  private JsonObject storedSettings(long userId) {
    return new JsonObject(sluice.sql().string("SELECT settings FROM user_settings WHERE user_id = ?", userId));
  }
}

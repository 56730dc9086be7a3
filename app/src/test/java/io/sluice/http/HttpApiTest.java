package io.sluice.http;

import io.sluice.api.HttpVerticle;
import io.sluice.launcher.TestSluice;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every endpoint and error code of the HTTP contract, over real HTTP, through the proxy, on the real database. */
@ExtendWith(VertxExtension.class)
class HttpApiTest {

  private static TestSluice.Running sluice;

  @BeforeAll
  static void start() {
    sluice = TestSluice.start(TestSluice.config());
  }

  @AfterAll
  static void stop() {
    sluice.close();
  }

  static HttpResponse<Buffer> send(HttpMethod method, String uri, Object body) {
    HttpRequest<Buffer> request = sluice.client().request(method, uri);
    if (body == null) {
      return request.send().await();
    }
    if (body instanceof String raw) {
      return request.putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(raw)).await();
    }
    return request.sendJson(body).await();
  }

  static void assertError(HttpResponse<Buffer> response, int status, String code) {
    assertEquals(status, response.statusCode(), response.bodyAsString());
    assertEquals("application/json", response.getHeader("Content-Type"));
    JsonObject body = response.bodyAsJsonObject();
    assertEquals(code, body.getString("error"));
    assertNotNull(body.getString("message"));
    assertEquals(2, body.size(), "error body has exactly error and message");
  }

  static JsonObject createUser() {
    String email = "http-" + UUID.randomUUID() + "@example.com";
    HttpResponse<Buffer> response = send(HttpMethod.POST, "/users",
      new JsonObject().put("name", "Grace").put("email", email));
    assertEquals(201, response.statusCode(), response.bodyAsString());
    return response.bodyAsJsonObject();
  }

  @Test
  void postUserThenGetIt() {
    JsonObject created = createUser();
    assertEquals(3, created.size());
    HttpResponse<Buffer> read = send(HttpMethod.GET, "/users/" + created.getLong("id"), null);
    assertEquals(200, read.statusCode());
    assertEquals("application/json", read.getHeader("Content-Type"));
    assertEquals(created, read.bodyAsJsonObject());
  }

  @Test
  void postUserErrors() {
    assertError(send(HttpMethod.POST, "/users", new JsonObject().put("name", "x")), 400, "bad_request");
    assertError(send(HttpMethod.POST, "/users", new JsonObject().put("name", "x").put("email", "nope")), 400,
      "bad_request");
    assertError(send(HttpMethod.POST, "/users", new JsonObject().put("name", 5).put("email", "a@b.co")), 400,
      "bad_request");
    assertError(send(HttpMethod.POST, "/users", "{not json"), 400, "bad_request");
    assertError(send(HttpMethod.POST, "/users", "[]"), 400, "bad_request");
    assertError(send(HttpMethod.POST, "/users", null), 400, "bad_request");
    String email = createUser().getString("email");
    assertError(send(HttpMethod.POST, "/users", new JsonObject().put("name", "Again").put("email", email)), 409,
      "conflict");
    assertEquals(1, sluice.sql().count("SELECT COUNT(*) FROM users WHERE email = ?", email));
  }

  @Test
  void getUserErrors() {
    assertError(send(HttpMethod.GET, "/users/987654321012", null), 404, "not_found");
    for (String bad : new String[]{"0", "-1", "abc", "1.5", "99999999999999999999"}) {
      assertError(send(HttpMethod.GET, "/users/" + bad, null), 400, "bad_request");
    }
  }

  @Test
  void settingsRoundTrip() {
    long id = createUser().getLong("id");
    HttpResponse<Buffer> empty = send(HttpMethod.GET, "/users/" + id + "/settings", null);
    assertEquals(200, empty.statusCode());
    assertEquals("MISS", empty.getHeader(HttpVerticle.CACHE_HEADER));
    HttpResponse<Buffer> again = send(HttpMethod.GET, "/users/" + id + "/settings", null);
    assertEquals("HIT", again.getHeader(HttpVerticle.CACHE_HEADER));
    assertNotNull(again.getHeader("Age"));
    assertEquals(new JsonObject().put("userId", id).put("settings", new JsonObject()), empty.bodyAsJsonObject());

    JsonObject settings = new JsonObject().put("theme", "dark").put("tags", new JsonArray().add("a"));
    HttpResponse<Buffer> put = send(HttpMethod.PUT, "/users/" + id + "/settings", settings);
    assertEquals(200, put.statusCode(), put.bodyAsString());
    assertNull(put.getHeader(HttpVerticle.CACHE_HEADER), "writes are never answered from cache");
    assertEquals(new JsonObject().put("userId", id).put("settings", settings), put.bodyAsJsonObject());
    assertEquals(settings, send(HttpMethod.GET, "/users/" + id + "/settings", null).bodyAsJsonObject()
      .getJsonObject("settings"));
  }

  @Test
  void settingsErrors() {
    long id = createUser().getLong("id");
    assertError(send(HttpMethod.GET, "/users/987654321012/settings", null), 404, "not_found");
    assertError(send(HttpMethod.PUT, "/users/987654321012/settings", new JsonObject()), 404, "not_found");
    assertError(send(HttpMethod.PUT, "/users/" + id + "/settings", "{\"a\":"), 400, "bad_request");
    assertError(send(HttpMethod.PUT, "/users/" + id + "/settings", "[1,2]"), 400, "bad_request");
    assertError(send(HttpMethod.PUT, "/users/" + id + "/settings", "\"text\""), 400, "bad_request");
    String big = new JsonObject().put("blob", "x".repeat(HttpVerticle.MAX_BODY_BYTES)).encode();
    assertError(send(HttpMethod.PUT, "/users/" + id + "/settings", big), 413, "payload_too_large");
    assertEquals(0, sluice.sql().count("SELECT COUNT(*) FROM user_settings WHERE user_id = ?", id));
  }

  @Test
  void notificationsLifecycle() {
    long id = createUser().getLong("id");
    String base = "/users/" + id + "/notifications";
    HttpResponse<Buffer> none = send(HttpMethod.GET, base, null);
    assertEquals(200, none.statusCode());
    assertEquals(new JsonObject().put("userId", id).put("notifications", new JsonArray()), none.bodyAsJsonObject());

    HttpResponse<Buffer> first = send(HttpMethod.POST, base, new JsonObject().put("title", "One").put("body", "b1"));
    assertEquals(201, first.statusCode(), first.bodyAsString());
    JsonObject one = first.bodyAsJsonObject();
    assertEquals(Set.of("id", "title", "body", "read", "createdAt"), one.fieldNames());
    assertFalse(one.getBoolean("read"));
    JsonObject two = send(HttpMethod.POST, base, new JsonObject().put("title", "Two").put("body", "b2"))
      .bodyAsJsonObject();

    JsonArray list = send(HttpMethod.GET, base, null).bodyAsJsonObject().getJsonArray("notifications");
    assertEquals(new JsonArray().add(two).add(one), list, "newest first");

    HttpResponse<Buffer> read = send(HttpMethod.POST, base + "/" + one.getLong("id") + "/read", null);
    assertEquals(204, read.statusCode());
    assertNull(read.body());
    JsonArray unread = send(HttpMethod.GET, base + "?unreadOnly=true", null).bodyAsJsonObject()
      .getJsonArray("notifications");
    assertEquals(new JsonArray().add(two), unread);
    JsonArray limited = send(HttpMethod.GET, base + "?unreadOnly=false&limit=1", null).bodyAsJsonObject()
      .getJsonArray("notifications");
    assertEquals(new JsonArray().add(two), limited);
  }

  @Test
  void notificationsErrors() {
    long id = createUser().getLong("id");
    long other = createUser().getLong("id");
    String base = "/users/" + id + "/notifications";
    for (String query : new String[]{"?limit=0", "?limit=101", "?limit=abc", "?unreadOnly=yes", "?limit=1&limit=2"}) {
      assertError(send(HttpMethod.GET, base + query, null), 400, "bad_request");
    }
    assertError(send(HttpMethod.GET, "/users/987654321012/notifications", null), 404, "not_found");
    assertError(send(HttpMethod.POST, "/users/987654321012/notifications",
      new JsonObject().put("title", "t").put("body", "b")), 404, "not_found");
    assertError(send(HttpMethod.POST, base, new JsonObject().put("body", "no title")), 400, "bad_request");
    assertError(send(HttpMethod.POST, base, new JsonObject().put("title", "t").put("body", 3)), 400,
      "bad_request");
    long nid = send(HttpMethod.POST, base, new JsonObject().put("title", "t").put("body", "b")).bodyAsJsonObject()
      .getLong("id");
    assertError(send(HttpMethod.POST, "/users/" + other + "/notifications/" + nid + "/read", null), 404,
      "not_found");
    assertError(send(HttpMethod.POST, base + "/987654321012/read", null), 404, "not_found");
    assertError(send(HttpMethod.POST, base + "/x/read", null), 400, "bad_request");
    assertEquals(1, sluice.sql().count("SELECT COUNT(*) FROM notifications WHERE user_id = ?", id));
  }

  @Test
  void unknownRoutesAndMethods() {
    assertError(send(HttpMethod.GET, "/nope", null), 404, "not_found");
    assertError(send(HttpMethod.DELETE, "/users/1", null), 405, "method_not_allowed");
  }

  @Test
  void healthAndRequestIds() {
    assertEquals(200, send(HttpMethod.GET, "/health/live", null).statusCode());
    HttpResponse<Buffer> ready = send(HttpMethod.GET, "/health/ready", null);
    assertEquals(200, ready.statusCode());
    assertEquals("UP", ready.bodyAsJsonObject().getString("status"));
    assertTrue(ready.getHeader(HttpVerticle.REQUEST_ID_HEADER).length() > 8, "a request id is generated");
    HttpResponse<Buffer> echoed = sluice.client().get("/health/live")
      .putHeader(HttpVerticle.REQUEST_ID_HEADER, "abc-123").send().await();
    assertEquals("abc-123", echoed.getHeader(HttpVerticle.REQUEST_ID_HEADER));
  }
}

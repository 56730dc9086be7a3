package io.sluice.testing;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The check is not vacuous: a real HTTP server answers what the test tells it to, and a validating client accepts
 * what openapi.yaml describes and fails on the rest.
 */
class OpenApiCheckTest {

  private static final String USER = "{\"id\":1,\"name\":\"Demo User 1\",\"email\":\"user1@example.com\"}";

  private static Vertx vertx;
  private static WebClient client;
  /** What the server answers next; set by each call of {@link #answer}. */
  private static volatile Consumer<HttpServerResponse> next;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    HttpServer server = vertx.createHttpServer().requestHandler(request -> next.accept(request.response()))
      .listen(0, "127.0.0.1").await();
    client = OpenApiCheck.validating(vertx, WebClient.create(vertx, new WebClientOptions()
      .setDefaultHost("127.0.0.1").setDefaultPort(server.actualPort())));
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static HttpResponse<Buffer> answer(HttpMethod method, String uri, int status, Map<String, String> headers,
                                             String json) {
    next = response -> {
      response.setStatusCode(status);
      headers.forEach(response::putHeader);
      if (json == null) {
        response.end();
      } else {
        response.putHeader("Content-Type", "application/json").end(json);
      }
    };
    return client.request(method, uri).send().await();
  }

  private static void rejected(String why, HttpMethod method, String uri, int status, Map<String, String> headers,
                               String json) {
    AssertionError error = assertThrows(AssertionError.class, () -> answer(method, uri, status, headers, json), why);
    assertTrue(error.getMessage().startsWith("Response does not match openapi.yaml"), error.getMessage());
  }

  @Test
  @DisplayName("documented responses pass, whatever the case of a header name")
  void documentedResponsesPass() {
    assertEquals(200, answer(HttpMethod.GET, "/users/1", 200, Map.of("x-request-id", "abc-123", "X-Cache", "HIT",
      "Age", "3"), USER).statusCode());
    // Generated request ids are UUIDs; one that starts with digits must still be read as a string.
    for (String requestId : new String[]{"12345678-1234-4abc-8def-123456789012", "1234e567-1234-4abc-8def-1234567890ab",
      "123", "true", "a:b.c_d"}) {
      assertEquals(200, answer(HttpMethod.GET, "/health/live", 200, Map.of("X-Request-Id", requestId),
        "{\"status\":\"UP\"}").statusCode(), requestId);
    }
    assertEquals(404, answer(HttpMethod.GET, "/nope", 404, Map.of("X-Request-Id", "1"),
      "{\"error\":\"not_found\",\"message\":\"no such resource: GET /nope\"}").statusCode());
    assertEquals(405, answer(HttpMethod.DELETE, "/users/1", 405, Map.of("X-Request-Id", "r"),
      "{\"error\":\"method_not_allowed\",\"message\":\"DELETE is not allowed on /users/1\"}").statusCode());
    assertEquals(204, answer(HttpMethod.POST, "/users/1/notifications/2/read", 204, Map.of("X-Request-Id", "r"),
      null).statusCode());
  }

  @Test
  @DisplayName("an undocumented status, field, header value or error code, or a missing header or body, fails")
  void undocumentedResponsesFail() {
    Map<String, String> id = Map.of("X-Request-Id", "r-1");
    rejected("status not documented", HttpMethod.GET, "/users/1", 418, id, USER);
    rejected("X-Request-Id missing", HttpMethod.GET, "/users/1", 200, Map.of(), USER);
    rejected("field not documented", HttpMethod.GET, "/users/1", 200, id,
      new JsonObject(USER).put("createdAt", "2025-01-31T09:15:00Z").encode());
    rejected("field missing", HttpMethod.GET, "/users/1", 200, id, "{\"id\":1,\"name\":\"x\"}");
    rejected("X-Cache value not documented", HttpMethod.GET, "/users/1", 200,
      Map.of("X-Request-Id", "r", "X-Cache", "COLD"), USER);
    rejected("body missing", HttpMethod.GET, "/users/1", 200, id, null);
    rejected("error code not for this status", HttpMethod.GET, "/users/1", 404, id,
      "{\"error\":\"conflict\",\"message\":\"m\"}");
    rejected("error body with an extra field", HttpMethod.GET, "/users/1", 404, id,
      "{\"error\":\"not_found\",\"message\":\"m\",\"stack\":\"at ...\"}");
    rejected("503 without Retry-After", HttpMethod.GET, "/users/1", 503, id,
      "{\"error\":\"pool_exhausted\",\"message\":\"m\"}");
    rejected("an array where an object is documented", HttpMethod.PUT, "/users/1/settings", 200, id,
      "[]");
    rejected("unknown path answered 200", HttpMethod.GET, "/nope", 200, id, USER);
  }
}

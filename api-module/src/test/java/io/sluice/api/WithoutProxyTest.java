package io.sluice.api;

import io.sluice.contract.FailureCode;
import io.sluice.testing.OpenApiCheck;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The HTTP tier on its own: what clients see when the proxy is not there, and the reply-to-HTTP mapping. */
@ExtendWith(VertxExtension.class)
class WithoutProxyTest {

  private static Vertx vertx;
  private static WebClient client;
  private static int port;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    HttpVerticle http = new HttpVerticle();
    vertx.deployVerticle(http, new DeploymentOptions().setConfig(new JsonObject()
      .put("http", new JsonObject().put("port", 0).put("host", "127.0.0.1").put("requestTimeoutMs", 500)))).await();
    port = http.actualPort();
    client = WebClient.create(vertx);
    client = OpenApiCheck.validating(vertx, client);
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @Test
  void noProxyMeansUnavailableWithRetryAfterAndNotReady() {
    HttpResponse<Buffer> user = client.get(port, "127.0.0.1", "/users/1").send().await();
    assertEquals(503, user.statusCode());
    assertEquals("unavailable", user.bodyAsJsonObject().getString("error"));
    assertEquals("1", user.getHeader("Retry-After"));
    assertEquals(503, client.get(port, "127.0.0.1", "/health/ready").send().await().statusCode());
    assertEquals(200, client.get(port, "127.0.0.1", "/health/live").send().await().statusCode());
  }

  @Test
  void everyFailureCodeMapsToItsHttpError() {
    HttpSettings settings = HttpSettings.defaults();
    assertMapped(400, "bad_request", FailureCode.BAD_REQUEST, settings);
    assertMapped(404, "not_found", FailureCode.NOT_FOUND, settings);
    assertMapped(409, "conflict", FailureCode.CONFLICT, settings);
    assertMapped(503, "pool_exhausted", FailureCode.POOL_SATURATED, settings);
    assertMapped(503, "db_unavailable", FailureCode.DB_UNAVAILABLE, settings);
    assertMapped(504, "db_timeout", FailureCode.STATEMENT_TIMEOUT, settings);
    assertMapped(500, "internal", FailureCode.INTERNAL, settings);
    assertMapped(500, "internal", 999, settings);
    ApiError timeout = ApiError.of(new ReplyException(ReplyFailure.TIMEOUT, "timeout"), settings);
    assertEquals(504, timeout.status());
    assertEquals("db_timeout", timeout.code());
  }

  private static void assertMapped(int status, String code, int failureCode, HttpSettings settings) {
    ApiError error = ApiError.of(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, failureCode, "m"), settings);
    assertEquals(status, error.status());
    assertEquals(code, error.code());
  }
}

package io.sluice.http;

import io.sluice.api.HttpVerticle;
import io.sluice.launcher.TestSluice;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTTP verticle as a proxy node runs it ({@code cluster.role} proxy: no API routes), alone, with no proxy
 * deployed: the API answers 404 saying why, health and admin routes stay, and nothing waits for a proxy. Every
 * response is held to openapi.yaml.
 */
class NodeRoutesTest {

  private static final String TOKEN = "node-routes-token";

  private static Vertx vertx;
  private static WebClient client;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    HttpVerticle http = new HttpVerticle();
    vertx.deployVerticle(http, new DeploymentOptions().setConfig(new JsonObject()
      .put("http", new JsonObject().put("port", 0).put("host", "127.0.0.1"))
      .put("admin", new JsonObject().put("token", TOKEN))
      .put(HttpVerticle.NODE_KEY, new JsonObject().put(HttpVerticle.NODE_API, false)
        .put(HttpVerticle.NODE_PROXY, true)))).await();
    client = TestSluice.client(vertx, http.actualPort());
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @Test
  @DisplayName("a proxy node answers API routes and /openapi.yaml with 404 naming its role")
  void apiRoutesAreNotServed() {
    for (HttpResponse<Buffer> response : new HttpResponse[] {
      client.get("/users/1").send().await(),
      client.post("/users").sendJsonObject(new JsonObject().put("name", "n").put("email", "n@example.com")).await(),
      client.get("/users/1/notifications").send().await(),
      client.get("/openapi.yaml").send().await()}) {
      assertEquals(404, response.statusCode(), response.bodyAsString());
      assertEquals("not_found", response.bodyAsJsonObject().getString("error"));
      assertTrue(response.bodyAsJsonObject().getString("message").contains("proxy node"), response.bodyAsString());
    }
  }

  @Test
  @DisplayName("health and admin routes stay; with no proxy in the process, readiness is 503 at once")
  void healthAndAdminStay() {
    assertEquals(200, client.get("/health/live").send().await().statusCode());
    HttpResponse<Buffer> ready = client.get("/health/ready").send().await();
    assertEquals(503, ready.statusCode(), ready.bodyAsString());
    assertEquals("unavailable", ready.bodyAsJsonObject().getString("error"));
    HttpResponse<Buffer> pool = client.get("/admin/pool").putHeader("Authorization", "Bearer " + TOKEN).send().await();
    assertEquals(503, pool.statusCode(), pool.bodyAsString());
  }

  @Test
  @DisplayName("GET /admin/cluster is 404 on a process that is not clustered, 401 without the token")
  void adminClusterWithoutCluster() {
    HttpResponse<Buffer> cluster = client.get("/admin/cluster").putHeader("Authorization", "Bearer " + TOKEN).send()
      .await();
    assertEquals(404, cluster.statusCode(), cluster.bodyAsString());
    assertTrue(cluster.bodyAsJsonObject().getString("message").contains("not clustered"), cluster.bodyAsString());
    assertEquals(401, client.get("/admin/cluster").send().await().statusCode());
  }
}

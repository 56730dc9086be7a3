package io.sluice.http;

import io.sluice.api.HttpVerticle;
import io.sluice.launcher.SluiceVertx;
import io.sluice.launcher.TestSluice;
import io.sluice.testing.OpenApiCheck;
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

import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * openapi.yaml and the router describe the same API: every route is documented and every documented operation is
 * routed. The HTTP verticle runs alone, with every optional route on (admin token set, metrics enabled, access
 * control on).
 */
class OpenApiDocumentTest {

  private static Vertx vertx;
  private static HttpVerticle http;
  private static WebClient client;

  @BeforeAll
  static void start() {
    vertx = SluiceVertx.create();
    http = new HttpVerticle();
    vertx.deployVerticle(http, new DeploymentOptions().setConfig(new JsonObject()
      .put("http", new JsonObject().put("port", 0).put("host", "127.0.0.1"))
      .put("admin", new JsonObject().put("token", "openapi-test-token"))
      .put("auth", new JsonObject().put("jwt", new JsonObject().put("enabled", true)
        .put("hmacSecret", "openapi-test-secret-of-at-least-32-bytes"))))).await();
    client = TestSluice.client(vertx, http.actualPort());
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @Test
  @DisplayName("every route of the router is an operation of openapi.yaml, and every operation is a route")
  void routesAndDocumentMatch() {
    Set<String> routed = http.endpoints();
    Set<String> documented = OpenApiCheck.operations(OpenApiCheck.document());
    Set<String> undocumented = new TreeSet<>(routed);
    undocumented.removeAll(documented);
    Set<String> unrouted = new TreeSet<>(documented);
    unrouted.removeAll(routed);
    assertEquals(Set.of(), undocumented, "routes missing from openapi.yaml");
    assertEquals(Set.of(), unrouted, "operations of openapi.yaml that no route serves");
    assertTrue(routed.contains("GET /users/{id}/notifications"), "path parameters in OpenAPI form: " + routed);
  }

  @Test
  @DisplayName("GET /openapi.yaml serves the document of the source tree as application/yaml, every time")
  void documentIsServed() throws IOException {
    byte[] resource;
    try (InputStream in = getClass().getClassLoader().getResourceAsStream(HttpVerticle.OPENAPI_RESOURCE)) {
      resource = in.readAllBytes();
    }
    // Twice: the cached buffer is sent again, not drained by the first response.
    for (int i = 0; i < 2; i++) {
      HttpResponse<Buffer> response = client.get("/openapi.yaml").send().await();
      assertEquals(200, response.statusCode());
      assertEquals("application/yaml", response.getHeader("Content-Type"));
      assertArrayEquals(resource, response.body().getBytes());
    }
  }

  @Test
  @DisplayName("every /users operation declares the bearer JWT and its 401 and 403; no other operation declares it")
  void bearerJwtOnTheUserOperationsOnly() {
    JsonObject document = OpenApiCheck.document();
    assertEquals("bearer", document.getJsonObject("components").getJsonObject("securitySchemes")
      .getJsonObject("bearerJwt").getString("scheme"));
    JsonObject paths = document.getJsonObject("paths");
    Set<String> wrong = new TreeSet<>();
    for (String path : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(path);
      for (String method : item.fieldNames()) {
        if (!(item.getValue(method) instanceof JsonObject operation) || !operation.containsKey("responses")) {
          continue;
        }
        boolean declared = operation.getJsonArray("security", new io.vertx.core.json.JsonArray()).stream()
          .anyMatch(requirement -> ((JsonObject) requirement).containsKey("bearerJwt"));
        JsonObject responses = operation.getJsonObject("responses");
        boolean documented = responses.containsKey("401") && responses.containsKey("403")
          && responses.getJsonObject("401").getString("$ref").endsWith("/TokenRequired");
        boolean protectedPath = path.startsWith("/users");
        if (protectedPath != declared || protectedPath != documented && protectedPath) {
          wrong.add(method.toUpperCase() + " " + path);
        }
      }
    }
    assertEquals(Set.of(), wrong, "operations whose bearerJwt declaration or 401/403 responses are wrong");
  }
}

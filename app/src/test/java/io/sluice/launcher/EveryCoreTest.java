package io.sluice.launcher;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launcher with several HTTP instances on one port and a proxy node on several event loops. */
class EveryCoreTest {

  @Test
  @DisplayName("3 HTTP instances share the port, 2 proxy event loops share one pool, reads after writes are new,"
    + " and shutdown stays within its bound")
  void everyCore() {
    JsonObject config = TestSluice.config();
    config.getJsonObject("http").put("instances", 3);
    config.getJsonObject("proxy").put("instances", 2);
    config.getJsonObject("db").getJsonObject("pool").put("maxSize", 5);
    TestSluice.Running sluice = TestSluice.start(config);
    try {
      JsonObject pool = sluice.launcher().proxyNode().stats().getJsonObject("pool");
      assertEquals(2, pool.getInteger("eventLoops"));
      assertEquals(5, pool.getInteger("maxSize"));

      HttpResponse<Buffer> created = sluice.client().post("/users")
        .sendJson(new JsonObject().put("name", "Ada").put("email", "cores-" + UUID.randomUUID() + "@example.com"))
        .await();
      assertEquals(201, created.statusCode(), created.bodyAsString());
      long id = created.bodyAsJsonObject().getLong("id");
      for (int round = 0; round < 5; round++) {
        JsonObject settings = new JsonObject().put("round", round);
        assertEquals(200, sluice.client().put("/users/" + id + "/settings").sendJson(settings).await().statusCode());
        for (int read = 0; read < 4; read++) {
          HttpResponse<Buffer> got = sluice.client().get("/users/" + id + "/settings").send().await();
          assertEquals(settings, got.bodyAsJsonObject().getJsonObject("settings"), "round " + round);
        }
      }
    } finally {
      sluice.client().close();
      assertTrue(sluice.launcher().shutdown(), "shutdown within http.maxRequestTimeoutMs + grace");
    }
  }
}

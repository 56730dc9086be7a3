package io.sluice.api;

import io.sluice.config.ConfigException;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server limits of the {@code http} section: defaults, validation, and what reaches the Vert.x server. */
class HttpSettingsTest {

  @Test
  @DisplayName("the limits default to their documented constants and bind the server, HTTP/1.1 only")
  void defaultsBindTheServer() {
    HttpSettings settings = HttpSettings.defaults();
    HttpServerOptions options = settings.toServerOptions();
    assertEquals(HttpSettings.DEFAULT_IDLE_TIMEOUT_MS, options.getIdleTimeout());
    assertEquals(TimeUnit.MILLISECONDS, options.getIdleTimeoutUnit());
    assertEquals(HttpSettings.DEFAULT_REQUEST_READ_TIMEOUT_MS, settings.requestReadTimeoutMs());
    assertEquals(HttpSettings.DEFAULT_MAX_HEADER_SIZE, options.getMaxHeaderSize());
    assertEquals(HttpSettings.DEFAULT_MAX_INITIAL_LINE_LENGTH, options.getMaxInitialLineLength());
    assertFalse(options.isHttp2ClearTextEnabled());
    assertEquals(settings, HttpSettings.from(settings.toJson()));
  }

  @Test
  @DisplayName("an idle timeout that would cut off a request still within its deadline is refused, naming both keys")
  void idleTimeoutMustExceedTheLongestDeadline() {
    ConfigException e = assertThrows(ConfigException.class, () -> HttpSettings.from(new JsonObject()
      .put("maxRequestTimeoutMs", 30_000).put("idleTimeoutMs", 30_000)));
    assertTrue(e.getMessage().contains("http.idleTimeoutMs") && e.getMessage().contains("http.maxRequestTimeoutMs"),
      e.getMessage());
    assertEquals(61_000, HttpSettings.from(new JsonObject().put("maxRequestTimeoutMs", 60_000)).idleTimeoutMs());
  }

  @Test
  @DisplayName("a live reload keeps the server's limits and refuses a deadline the running idle timeout would cut")
  void reloadKeepsTheBoundLimits() {
    HttpSettings running = HttpSettings.from(new JsonObject().put("idleTimeoutMs", 20_000).put("maxHeaderSize", 4096));
    HttpSettings applied = running.reloaded(new JsonObject().put("requestTimeoutMs", 500).put("idleTimeoutMs", 90_000)
      .put("maxHeaderSize", 16_384));
    assertEquals(500, applied.requestTimeoutMs());
    assertEquals(20_000, applied.idleTimeoutMs());
    assertEquals(4096, applied.maxHeaderSize());
    assertThrows(ConfigException.class, () -> running.reloaded(new JsonObject()
      .put("maxRequestTimeoutMs", 20_000).put("idleTimeoutMs", 90_000)));
  }

  @Test
  void limitsOutOfRangeAreRefused() {
    assertThrows(ConfigException.class, () -> HttpSettings.from(new JsonObject().put("maxHeaderSize", 10)));
    assertThrows(ConfigException.class, () -> HttpSettings.from(new JsonObject().put("maxInitialLineLength", 0)));
    assertThrows(ConfigException.class, () -> HttpSettings.from(new JsonObject().put("requestReadTimeoutMs", 0)));
  }

  @Test
  @DisplayName("loopback-only hosts are told from the literal, without DNS; 0.0.0.0 and names are reachable")
  void loopbackOnly() {
    for (String host : new String[]{"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) {
      assertTrue(HttpSettings.from(new JsonObject().put("host", host)).listensOnLoopbackOnly(), host);
    }
    for (String host : new String[]{"0.0.0.0", "::", "10.0.0.5", "api.example.com"}) {
      assertFalse(HttpSettings.from(new JsonObject().put("host", host)).listensOnLoopbackOnly(), host);
    }
  }
}

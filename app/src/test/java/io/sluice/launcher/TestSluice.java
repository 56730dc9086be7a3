package io.sluice.launcher;

import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.proxy.testing.TestConfigs;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/** Sluice started through the real launcher against the test database, HTTP on a free port. */
public final class TestSluice {

  private TestSluice() {
  }

  /** The full default config aimed at the test database; callers adjust it before {@link #start}. */
  public static JsonObject config() {
    JsonObject config = SluiceConfig.defaults();
    config.put("db", TestDatabase.settings().toJson());
    config.getJsonObject("http").put("port", 0).put("host", "127.0.0.1");
    return config;
  }

  /** {@link #config()} with {@link TestConfigs#saturable}'s small pool and fixed injected latency. */
  public static JsonObject saturable(int maxSize, int maxWaitQueueSize, long latencyMs) {
    return config().mergeIn(TestConfigs.saturable(maxSize, maxWaitQueueSize, latencyMs), true);
  }

  public static Launcher start(Vertx vertx, JsonObject config) {
    return Launcher.start(vertx, SluiceConfig.validate(config));
  }

  public static Launcher start(Vertx vertx, JsonObject config, Ticker cacheClock) {
    return Launcher.start(vertx, SluiceConfig.validate(config), cacheClock, null);
  }
}

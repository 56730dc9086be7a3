package io.sluice.proxy.testing;

import io.sluice.proxy.config.DbSettings;
import io.vertx.core.json.JsonObject;

/** Deployment configs pointing at the {@link TestDatabase}. */
public final class TestConfigs {

  private TestConfigs() {
  }

  /** The {@code db} and {@code faults} sections for the test database, default pool and no faults. */
  public static JsonObject proxyConfig() {
    DbSettings db = TestDatabase.settings();
    return new JsonObject()
      .put("db", db.toJson())
      .put("faults", new JsonObject().put("dbLatency", new JsonObject().put("enabled", false)));
  }

  /**
   * A small pool, and every statement delayed by exactly {@code latencyMs} on the server. One proxy shard: the tests
   * that use it count exact outcomes of one pool and one queue (pool 2, queue 2: exactly 4 succeed).
   */
  public static JsonObject saturable(int maxSize, int maxWaitQueueSize, long latencyMs) {
    JsonObject config = singleShard(proxyConfig());
    config.getJsonObject("db").getJsonObject("pool")
      .put("maxSize", maxSize)
      .put("maxWaitQueueSize", maxWaitQueueSize)
      .put("acquireTimeoutMs", 30_000);
    config.getJsonObject("db").put("statementTimeoutMs", 30_000);
    config.getJsonObject("faults").put("dbLatency",
      new JsonObject().put("enabled", true).put("minMs", latencyMs).put("maxMs", latencyMs));
    return config;
  }

  /** {@code config} with {@code proxy.instances} pinned to 1: one shard, one pool, one admission queue. */
  public static JsonObject singleShard(JsonObject config) {
    return shards(config, 1);
  }

  /** {@code config} with {@code proxy.instances} set to {@code instances}. */
  public static JsonObject shards(JsonObject config, int instances) {
    return config.put("proxy", new JsonObject().put("instances", instances));
  }
}

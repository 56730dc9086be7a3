package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;

import io.vertx.core.json.JsonObject;

/**
 * Everything the database proxy reads from its deployment config: the {@code db}, {@code cache} and {@code faults}
 * sections.
 * Parsing validates the whole of it first, so a bad value stops the start with one message naming the key.
 */
public record ProxyConfig(DbSettings db, CachesConfig cache, FaultSettings faults) {

  /** The proxy's sections; their live keys are what a reload sends it ({@code proxy.applyConfig}). */
  public static final Schema SCHEMA = Schema.of().section("db", DbSettings.SCHEMA).section("cache", CachesConfig.SCHEMA)
    .section("faults", FaultSettings.SCHEMA);

  public static ProxyConfig from(JsonObject config) {
    JsonSection root = JsonSection.root(config);
    return new ProxyConfig(DbSettings.from(root.section("db")), CachesConfig.from(root.section("cache")),
      FaultSettings.from(root.section("faults")));
  }

  public static ProxyConfig defaults() {
    return from(new JsonObject());
  }

  /** The same config with other pool settings (a node's share of the budget). */
  public ProxyConfig withPool(PoolSettings pool) {
    return new ProxyConfig(db.withPool(pool), cache, faults);
  }

  public JsonObject toJson() {
    return new JsonObject().put("db", db.toJson()).put("cache", cache.toJson()).put("faults", faults.toJson());
  }
}

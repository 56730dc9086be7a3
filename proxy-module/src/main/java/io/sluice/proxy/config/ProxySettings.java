package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;

/**
 * The {@code proxy} section: how many event loops the database proxy uses.
 *
 * @param instances event loops that consume the proxy address, each a verticle instance; all of them serve the
 *                  node's one pool, admission and caches. 0 = one per available processor. See
 *                  {@code io.sluice.proxy.ProxyNode}.
 */
public record ProxySettings(int instances) {

  /** 0: {@link Runtime#availableProcessors()}. */
  public static final int DEFAULT_INSTANCES = 0;

  /** Restart-only: the consumers are verticle instances, deployed once at start. */
  public static final Schema SCHEMA = Schema.of().restartOnly("instances");

  public static ProxySettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new ProxySettings(s.integer("instances", DEFAULT_INSTANCES, 0, 1024));
  }

  public static ProxySettings defaults() {
    return from(JsonSection.root(new JsonObject()));
  }

  /** The instances asked for, with 0 resolved to the available processors. */
  public int resolvedInstances() {
    return instances == 0 ? Runtime.getRuntime().availableProcessors() : instances;
  }

  public JsonObject toJson() {
    return new JsonObject().put("instances", instances);
  }
}

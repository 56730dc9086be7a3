package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;

/**
 * The {@code proxy} section: how many event loops the database proxy uses.
 *
 * @param instances event loops that consume the proxy address, each a verticle instance; all of them serve the
 *                  node's one pool, admission and caches. 0 = one per 4 available processors. See
 *                  {@code io.sluice.proxy.ProxyNode}.
 */
public record ProxySettings(int instances) {

  /** 0: one event loop per {@value #PROCESSORS_PER_EVENT_LOOP} available processors, at least one. */
  public static final int DEFAULT_INSTANCES = 0;

  /**
   * Why not one per processor: every event loop serves the node's one pool, and a connection answers on the loop
   * that opened it, so a request served by another loop pays two thread hops per statement. The proxy's own work per
   * request is small (tens of microseconds: one loop serves tens of thousands of requests a second), while the HTTP
   * tier uses every core. Measured on the 2-core build machine on 2026-12-06 (wrk, 64 connections, users cache off,
   * 15 s after a 10 s warm-up): one proxy loop 17,557 and 18,531 req/s, two loops 13,206 and 14,612 req/s; cached
   * reads 45,465 against 40,756 req/s (docs/benchmark.md).
   */
  public static final int PROCESSORS_PER_EVENT_LOOP = 4;

  /** Restart-only: the consumers are verticle instances, deployed once at start. */
  public static final Schema SCHEMA = Schema.of().restartOnly("instances");

  public static ProxySettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new ProxySettings(s.integer("instances", DEFAULT_INSTANCES, 0, 1024));
  }

  public static ProxySettings defaults() {
    return from(JsonSection.root(new JsonObject()));
  }

  /** The instances asked for, with 0 resolved to one per {@value #PROCESSORS_PER_EVENT_LOOP} processors. */
  public int resolvedInstances() {
    return instances == 0 ? Math.max(1, Runtime.getRuntime().availableProcessors() / PROCESSORS_PER_EVENT_LOOP)
      : instances;
  }

  public JsonObject toJson() {
    return new JsonObject().put("instances", instances);
  }
}

package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;

import io.vertx.core.json.JsonObject;

/**
 * One read cache of the proxy: {@code cache.<name>}, for each cache declared in {@link CachesConfig#ALL}.
 *
 * @param enabled           false: every read goes to the database
 * @param ttlSeconds        an entry younger than this is served without touching the pool ({@code X-Cache: HIT})
 * @param maxEntries        size bound; least recently used entries are evicted beyond it
 * @param staleGraceSeconds how long past its TTL an entry is kept to answer when the pool rejects a read
 */
public record CacheSettings(boolean enabled, long ttlSeconds, long maxEntries, long staleGraceSeconds) {

  public static final long DEFAULT_MAX_ENTRIES = 10_000;
  public static final long DEFAULT_STALE_GRACE_SECONDS = 600;

  /** All live: applied in place, entries kept (disabling a cache empties it). */
  public static final Schema SCHEMA = Schema.of().live("enabled", "ttlSeconds", "maxEntries", "staleGraceSeconds");

  static CacheSettings from(JsonSection s, long defaultTtlSeconds) {
    s.onlyKeys(SCHEMA);
    return new CacheSettings(
      s.bool("enabled", true),
      s.longValue("ttlSeconds", defaultTtlSeconds, 0, 86_400),
      s.longValue("maxEntries", DEFAULT_MAX_ENTRIES, 1, 10_000_000),
      s.longValue("staleGraceSeconds", DEFAULT_STALE_GRACE_SECONDS, 0, 86_400));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("ttlSeconds", ttlSeconds).put("maxEntries", maxEntries)
      .put("staleGraceSeconds", staleGraceSeconds);
  }
}

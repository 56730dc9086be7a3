package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;

import io.vertx.core.json.JsonObject;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code cache} section: one {@link CacheSettings} per cached read, keyed by cache name.
 *
 * <p>{@link #ALL} is the one list of caches. A cache exists in the config (its keys, defaults and environment
 * variables), in the proxy's cache registry, in {@code proxy.stats} and in the metrics exactly when it is declared
 * there; a read names its cache by the constant declared here. Invariant: {@link #byName()} always holds every
 * declared cache, in declaration order (the order of the config dump and of the stats reply).
 */
public record CachesConfig(Map<String, CacheSettings> byName) {

  public static final String USERS = "users";
  public static final String SETTINGS = "settings";
  public static final String NOTIFICATIONS = "notifications";

  /** The incident's TTLs: settings 5 min, notifications 2 min; users 1 min. */
  public static final long DEFAULT_USERS_TTL_SECONDS = 60;
  public static final long DEFAULT_SETTINGS_TTL_SECONDS = 300;
  public static final long DEFAULT_NOTIFICATIONS_TTL_SECONDS = 120;

  /** A cache the proxy keeps, and its TTL when the config names none. */
  public record Declared(String name, long defaultTtlSeconds) {
  }

  /** Every cache, in the order the config dump and {@code proxy.stats} list them. */
  public static final List<Declared> ALL = List.of(
    new Declared(USERS, DEFAULT_USERS_TTL_SECONDS),
    new Declared(SETTINGS, DEFAULT_SETTINGS_TTL_SECONDS),
    new Declared(NOTIFICATIONS, DEFAULT_NOTIFICATIONS_TTL_SECONDS));

  public CachesConfig {
    byName = Collections.unmodifiableMap(new LinkedHashMap<>(byName));
  }

  /** Every declared cache is a section with {@link CacheSettings#SCHEMA}. */
  public static final Schema SCHEMA = schema();

  private static Schema schema() {
    Schema schema = Schema.of();
    for (Declared cache : ALL) {
      schema = schema.section(cache.name(), CacheSettings.SCHEMA);
    }
    return schema;
  }

  static CachesConfig from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    Map<String, CacheSettings> byName = new LinkedHashMap<>();
    for (Declared cache : ALL) {
      byName.put(cache.name(), CacheSettings.from(s.section(cache.name()), cache.defaultTtlSeconds()));
    }
    return new CachesConfig(byName);
  }

  /** The settings of a declared cache; a name that is not declared is a bug, not a config error. */
  public CacheSettings settings(String name) {
    CacheSettings settings = byName.get(name);
    if (settings == null) {
      throw new IllegalArgumentException("no cache named '" + name + "'; declared: " + byName.keySet());
    }
    return settings;
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    byName.forEach((name, settings) -> json.put(name, settings.toJson()));
    return json;
  }
}

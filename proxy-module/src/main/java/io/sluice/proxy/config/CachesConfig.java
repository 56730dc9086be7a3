package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;

import io.vertx.core.json.JsonObject;

/** The {@code cache} section: one {@link CacheSettings} per cached read. */
public record CachesConfig(CacheSettings users, CacheSettings settings, CacheSettings notifications) {

  /** The incident's TTLs: settings 5 min, notifications 2 min; users 1 min. */
  public static final long DEFAULT_USERS_TTL_SECONDS = 60;
  public static final long DEFAULT_SETTINGS_TTL_SECONDS = 300;
  public static final long DEFAULT_NOTIFICATIONS_TTL_SECONDS = 120;

  public static final Schema SCHEMA = Schema.of().section("users", CacheSettings.SCHEMA)
    .section("settings", CacheSettings.SCHEMA).section("notifications", CacheSettings.SCHEMA);

  static CachesConfig from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new CachesConfig(
      CacheSettings.from(s.section("users"), DEFAULT_USERS_TTL_SECONDS),
      CacheSettings.from(s.section("settings"), DEFAULT_SETTINGS_TTL_SECONDS),
      CacheSettings.from(s.section("notifications"), DEFAULT_NOTIFICATIONS_TTL_SECONDS));
  }

  public JsonObject toJson() {
    return new JsonObject().put("users", users.toJson()).put("settings", settings.toJson())
      .put("notifications", notifications.toJson());
  }
}

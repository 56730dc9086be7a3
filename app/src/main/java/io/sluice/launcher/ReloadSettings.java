package io.sluice.launcher;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;

/**
 * The {@code reload} section.
 *
 * @param scanPeriodMs how often the config is read again for live changes; 0 turns reloading off
 */
public record ReloadSettings(long scanPeriodMs) {

  public static final long DEFAULT_SCAN_PERIOD_MS = 2000;

  /** The watcher's timer is set once, at start. */
  public static final Schema SCHEMA = Schema.of().restartOnly("scanPeriodMs");

  public static ReloadSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new ReloadSettings(s.longValue("scanPeriodMs", DEFAULT_SCAN_PERIOD_MS, 0, 3_600_000));
  }

  public static ReloadSettings defaults() {
    return from(JsonSection.at("reload", null));
  }

  public JsonObject toJson() {
    return new JsonObject().put("scanPeriodMs", scanPeriodMs);
  }
}

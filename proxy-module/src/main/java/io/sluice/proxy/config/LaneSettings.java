package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.sluice.contract.Action;
import io.vertx.core.json.JsonObject;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code db.lanes} section: one admission lane per statement class (an action), each with an adaptive
 * concurrency limit inside the node's pool, so that slow statements of one class cannot take every connection.
 *
 * <p>Keys (all live):
 * <ul>
 *   <li>{@code enabled} (default {@value #DEFAULT_ENABLED}): off puts every action in one lane, the admission of
 *   before lanes existed (one FIFO for every kind of statement).</li>
 *   <li>{@code <lane>.maxPercent} (default {@value #DEFAULT_MAX_PERCENT}): the most of the node's pool the lane may
 *   hold, in percent, whatever its adaptive limit says; at least one connection. Lets ops pin a known-slow class
 *   (a report, a batch) to a corner of the pool. The lane key is the action's name in camel case
 *   ({@code settings.put} → {@code settingsPut}; env {@code SLUICE_DB_LANES_SETTINGS_PUT_MAX_PERCENT}).</li>
 * </ul>
 */
public record LaneSettings(boolean enabled, Map<String, Integer> maxPercent) {

  public static final boolean DEFAULT_ENABLED = true;
  public static final int DEFAULT_MAX_PERCENT = 100;

  /** The actions that run statements on the request pool, in the order of the config dump and the stats. */
  public static final List<String> ACTIONS = List.of(Action.GET_USER, Action.CREATE_USER, Action.GET_SETTINGS,
    Action.PUT_SETTINGS, Action.LIST_NOTIFICATIONS, Action.CREATE_NOTIFICATION, Action.MARK_NOTIFICATION_READ,
    Action.PING);

  /** One lane's section ({@code db.lanes.<lane>}). */
  private static final Schema LANE_SCHEMA = Schema.of().live("maxPercent");

  public static final Schema SCHEMA = schema();

  public LaneSettings {
    maxPercent = Collections.unmodifiableMap(new LinkedHashMap<>(maxPercent));
  }

  private static Schema schema() {
    Schema schema = Schema.of().live("enabled");
    for (String action : ACTIONS) {
      schema = schema.section(key(action), LANE_SCHEMA);
    }
    return schema;
  }

  /** The config key of an action's lane: its name in camel case, without the dot. */
  public static String key(String action) {
    int dot = action.indexOf('.');
    return dot < 0 ? action : action.substring(0, dot) + Character.toUpperCase(action.charAt(dot + 1))
      + action.substring(dot + 2);
  }

  public static LaneSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    Map<String, Integer> percent = new LinkedHashMap<>();
    for (String action : ACTIONS) {
      // Each lane's section is checked too: a typo there (maxPercnt) must fail, not leave the lane at its default.
      JsonSection lane = s.section(key(action)).onlyKeys(LANE_SCHEMA);
      percent.put(action, lane.integer("maxPercent", DEFAULT_MAX_PERCENT, 1, 100));
    }
    return new LaneSettings(s.bool("enabled", DEFAULT_ENABLED), percent);
  }

  public static LaneSettings defaults() {
    return from(JsonSection.root(new JsonObject()));
  }

  /** The lane's cap in connections for a pool of {@code permits}: at least 1. */
  public int cap(String action, int permits) {
    int percent = maxPercent.getOrDefault(action, DEFAULT_MAX_PERCENT);
    return Math.max(1, (int) Math.floor(permits * percent / 100.0));
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("enabled", enabled);
    maxPercent.forEach((action, percent) -> json.put(key(action), new JsonObject().put("maxPercent", percent)));
    return json;
  }
}

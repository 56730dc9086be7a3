package io.sluice.launcher;

import io.sluice.config.ConfigException;
import io.sluice.proxy.config.ProxyConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What a reload of the config would change, each changed key classified by {@link SluiceConfig#SCHEMA}: live keys
 * are applied to the running service, restart-only keys keep their running values until the next start. A config
 * that does not validate is rejected whole and yields no diff. Pure (no I/O, no clock), so the reload's decisions
 * are unit-tested without a server.
 *
 * <p>Values are compared raw, so a change of a secret is seen, and shown redacted: the {@link Change}s never hold a
 * password or token.
 *
 * @param adopted     the config the service runs once the live changes are applied: {@code next}, except that
 *                    every restart-only key keeps its running value
 * @param live        changed keys that apply now, with their (redacted) old and new values
 * @param restartOnly changed keys that wait for a restart
 */
record ConfigDiff(JsonObject adopted, Map<String, Change> live, Map<String, Change> restartOnly) {

  /** One changed leaf key: its old and new value, secrets masked. */
  record Change(Object before, Object after) {
  }

  /**
   * Compares the running config with a newly read one.
   *
   * @throws ConfigException when {@code next} is invalid: the whole reload is rejected
   */
  static ConfigDiff between(JsonObject running, JsonObject next) {
    SluiceConfig.validate(next);
    Map<String, Change> live = new TreeMap<>();
    Map<String, Change> restartOnly = new TreeMap<>();
    changes(running, next).forEach((key, change) ->
      (SluiceConfig.SCHEMA.isLive(key) ? live : restartOnly).put(key, change));
    return new ConfigDiff(SluiceConfig.SCHEMA.keepRestartOnly(running, next), live, restartOnly);
  }

  /** What the database proxy applies ({@code proxy.applyConfig}): the live keys of its sections. */
  JsonObject proxyUpdate() {
    return ProxyConfig.SCHEMA.liveOnly(adopted);
  }

  /** The live changes in one line, {@code db.pool.maxSize 4 → 6, ...}, as logged. */
  String describeLive() {
    return live.entrySet().stream()
      .map(e -> e.getKey() + " " + e.getValue().before() + " → " + e.getValue().after())
      .collect(Collectors.joining(", "));
  }

  /** The live changes as published on {@code config.changed}: {@code [{key, old, new}]}. */
  JsonArray liveJson() {
    List<JsonObject> list = new ArrayList<>();
    live.forEach((key, change) -> list.add(new JsonObject().put("key", key).put("old", change.before())
      .put("new", change.after())));
    return new JsonArray(list);
  }

  /** Leaf keys whose values differ, compared raw (an integer equals the same whole number), shown redacted. */
  static Map<String, Change> changes(JsonObject before, JsonObject after) {
    Map<String, Object> a = flatten(before, "");
    Map<String, Object> b = flatten(after, "");
    Map<String, Object> shownA = flatten(SluiceConfig.redacted(before), "");
    Map<String, Object> shownB = flatten(SluiceConfig.redacted(after), "");
    Set<String> keys = new TreeSet<>(a.keySet());
    keys.addAll(b.keySet());
    Map<String, Change> changes = new TreeMap<>();
    for (String key : keys) {
      if (!Objects.equals(normalize(a.get(key)), normalize(b.get(key)))) {
        changes.put(key, new Change(shownA.get(key), shownB.get(key)));
      }
    }
    return changes;
  }

  private static Object normalize(Object value) {
    return value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) ? n.longValue() : value;
  }

  private static Map<String, Object> flatten(JsonObject json, String prefix) {
    Map<String, Object> flat = new TreeMap<>();
    if (json == null) {
      return flat;
    }
    for (String key : json.fieldNames()) {
      Object value = json.getValue(key);
      if (value instanceof JsonObject child) {
        flat.putAll(flatten(child, prefix + key + "."));
      } else {
        flat.put(prefix + key, value);
      }
    }
    return flat;
  }
}

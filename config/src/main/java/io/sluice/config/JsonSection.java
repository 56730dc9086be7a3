package io.sluice.config;

import io.vertx.core.json.JsonObject;

import java.util.Set;
import java.util.TreeSet;

/**
 * Typed, validating reads of one section of the config tree. Every failure names the full key path
 * ({@code db.pool.maxSize}) and why, so a bad file yields one clear log line.
 */
public final class JsonSection {

  private final JsonObject json;
  private final String path;

  private JsonSection(JsonObject json, String path) {
    this.json = json == null ? new JsonObject() : json;
    this.path = path;
  }

  public static JsonSection root(JsonObject json) {
    return new JsonSection(json, "");
  }

  /** The section found at {@code path} ({@code http}, {@code db.pool}), read on its own; null reads as empty. */
  public static JsonSection at(String path, JsonObject json) {
    return new JsonSection(json, path);
  }

  public JsonSection section(String key) {
    Object value = json.getValue(key);
    if (value != null && !(value instanceof JsonObject)) {
      throw new ConfigException(keyOf(key) + " must be a section (a map of keys), got " + describe(value));
    }
    return new JsonSection((JsonObject) value, keyOf(key));
  }

  public String string(String key, String defaultValue) {
    Object value = json.getValue(key);
    if (value == null) {
      return defaultValue;
    }
    if (value instanceof String || value instanceof Number || value instanceof Boolean) {
      return value.toString();
    }
    throw new ConfigException(keyOf(key) + " must be a string, got " + describe(value));
  }

  /**
   * As {@link #string}, for a secret: a value of the wrong type is refused without being shown (an array or a
   * section would otherwise be printed in the message).
   */
  public String secret(String key, String defaultValue) {
    Object value = json.getValue(key);
    if (value == null) {
      return defaultValue;
    }
    if (value instanceof String s) {
      return s;
    }
    throw new ConfigException(keyOf(key) + " must be a string (its value is a secret and is not shown)");
  }

  public boolean bool(String key, boolean defaultValue) {
    Object value = json.getValue(key);
    if (value == null) {
      return defaultValue;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    if (value instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
      return Boolean.parseBoolean(s);
    }
    throw new ConfigException(keyOf(key) + " must be true or false, got " + describe(value));
  }

  public int integer(String key, int defaultValue, int min, int max) {
    long value = longValue(key, defaultValue, min, max);
    return (int) value;
  }

  public long longValue(String key, long defaultValue, long min, long max) {
    Object raw = json.getValue(key);
    long value;
    if (raw == null) {
      value = defaultValue;
    } else if (raw instanceof Integer || raw instanceof Long || raw instanceof Short) {
      value = ((Number) raw).longValue();
    } else if (raw instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      value = n.longValue();
    } else if (raw instanceof String s && s.trim().matches("-?\\d{1,18}")) {
      value = Long.parseLong(s.trim());
    } else {
      throw new ConfigException(keyOf(key) + " must be an integer, got " + describe(raw));
    }
    if (value < min || value > max) {
      throw new ConfigException(keyOf(key) + " must be between " + min + " and " + max + ", got " + value);
    }
    return value;
  }

  /** Fails when the section holds a key its schema does not declare: a typo must not fall back to a default. */
  public JsonSection onlyKeys(Schema schema) {
    Set<String> known = schema.keys();
    Set<String> unknown = new TreeSet<>(json.fieldNames());
    unknown.removeAll(known);
    if (!unknown.isEmpty()) {
      throw new ConfigException("unknown key" + (unknown.size() > 1 ? "s " : " ")
        + unknown.stream().map(this::keyOf).toList() + "; known keys of " + (path.isEmpty() ? "the root" : path)
        + ": " + new TreeSet<>(known));
    }
    return this;
  }

  public String keyOf(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  private static String describe(Object value) {
    if (value instanceof String s) {
      return "\"" + (s.length() > 40 ? s.substring(0, 40) + "…" : s) + "\"";
    }
    if (value instanceof JsonObject) {
      return "a section";
    }
    return String.valueOf(value);
  }
}

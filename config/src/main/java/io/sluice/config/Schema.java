package io.sluice.config;

import io.vertx.core.json.JsonObject;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The keys of one config section, declared once beside its settings type: each leaf key is either <em>live</em> (a
 * reload applies it to the running service) or <em>restart-only</em> (a reload keeps its running value until the
 * next start), and each subsection has a schema of its own.
 *
 * <p>Everything that needs to know a key reads these declarations: {@link JsonSection#onlyKeys(Schema)} (a key not
 * declared is a typo), the reload's diff (live or restart-only), what a reload hands to each tier
 * ({@link #liveOnly}, {@link #keepRestartOnly}), and the test that holds the README's live/restart table to them.
 * A new live key is therefore one word in one schema.
 *
 * <p>Immutable. Declaring a key twice is a programming error and fails when the declaring class initialises.
 */
public final class Schema {

  /** Leaf key → live. */
  private final Map<String, Boolean> leaves;
  private final Map<String, Schema> sections;

  private Schema(Map<String, Boolean> leaves, Map<String, Schema> sections) {
    this.leaves = leaves;
    this.sections = sections;
  }

  public static Schema of() {
    return new Schema(Map.of(), Map.of());
  }

  /** This schema and {@code keys}, applied by a reload to the running service. */
  public Schema live(String... keys) {
    return withLeaves(keys, true);
  }

  /** This schema and {@code keys}, which keep their running value until a restart. */
  public Schema restartOnly(String... keys) {
    return withLeaves(keys, false);
  }

  /** This schema and the subsection {@code key}, whose keys {@code schema} declares. */
  public Schema section(String key, Schema schema) {
    requireNew(key);
    Map<String, Schema> more = new LinkedHashMap<>(sections);
    more.put(key, schema);
    return new Schema(leaves, Collections.unmodifiableMap(more));
  }

  /** The keys of this section, leaves and subsections: anything else in it is unknown. */
  public Set<String> keys() {
    Set<String> keys = new TreeSet<>(leaves.keySet());
    keys.addAll(sections.keySet());
    return Collections.unmodifiableSet(keys);
  }

  /** The schema of the subsection {@code key}. */
  public Schema subsection(String key) {
    Schema schema = sections.get(key);
    if (schema == null) {
      throw new IllegalArgumentException("no section " + key + " declared; sections: " + sections.keySet());
    }
    return schema;
  }

  /** Every leaf as a dotted path from this section ({@code pool.maxSize}). */
  public Set<String> leafPaths() {
    Set<String> paths = new TreeSet<>(leaves.keySet());
    sections.forEach((key, schema) -> schema.leafPaths().forEach(path -> paths.add(key + "." + path)));
    return paths;
  }

  /** Whether the leaf at the dotted {@code path} is live. A path this schema does not declare is not. */
  public boolean isLive(String path) {
    int dot = path.indexOf('.');
    if (dot < 0) {
      return Boolean.TRUE.equals(leaves.get(path));
    }
    Schema schema = sections.get(path.substring(0, dot));
    return schema != null && schema.isLive(path.substring(dot + 1));
  }

  /**
   * The live keys of {@code config}, in the same shape; keys this schema does not declare are left out. What a
   * reload hands to a tier that applies them.
   */
  public JsonObject liveOnly(JsonObject config) {
    return part(config, true);
  }

  /** The restart-only keys of {@code config}, in the same shape. */
  public JsonObject restartOnlyPart(JsonObject config) {
    return part(config, false);
  }

  /**
   * A copy of {@code next} in which every restart-only key has its value from {@code running} (or is absent when it
   * is absent there): what a reload adopts. Either may be null (an absent section).
   */
  public JsonObject keepRestartOnly(JsonObject running, JsonObject next) {
    JsonObject adopted = next == null ? new JsonObject() : next.copy();
    leaves.forEach((key, live) -> {
      if (!live) {
        Object value = running == null ? null : running.getValue(key);
        if (value == null) {
          adopted.remove(key);
        } else {
          adopted.put(key, value);
        }
      }
    });
    sections.forEach((key, schema) -> {
      JsonObject kept = schema.keepRestartOnly(child(running, key), child(next, key));
      if (!kept.isEmpty() || adopted.containsKey(key)) {
        adopted.put(key, kept);
      }
    });
    return adopted;
  }

  private JsonObject part(JsonObject config, boolean live) {
    JsonObject part = new JsonObject();
    if (config == null) {
      return part;
    }
    leaves.forEach((key, isLive) -> {
      if (isLive == live && config.containsKey(key)) {
        part.put(key, config.getValue(key));
      }
    });
    sections.forEach((key, schema) -> {
      JsonObject child = schema.part(child(config, key), live);
      if (!child.isEmpty()) {
        part.put(key, child);
      }
    });
    return part;
  }

  private static JsonObject child(JsonObject json, String key) {
    return json != null && json.getValue(key) instanceof JsonObject child ? child : null;
  }

  private Schema withLeaves(String[] keys, boolean live) {
    Map<String, Boolean> more = new LinkedHashMap<>(leaves);
    for (String key : keys) {
      requireNew(key);
      if (more.put(key, live) != null) {
        throw new IllegalArgumentException("config key " + key + " declared twice");
      }
    }
    return new Schema(Collections.unmodifiableMap(more), sections);
  }

  private void requireNew(String key) {
    if (key.isEmpty() || key.contains(".")) {
      throw new IllegalArgumentException("a config key is one path segment, got \"" + key + "\"");
    }
    if (leaves.containsKey(key) || sections.containsKey(key)) {
      throw new IllegalArgumentException("config key " + key + " declared twice");
    }
  }
}

package io.sluice.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Locale;

/**
 * The one redaction rule: a non-empty string under a key named like a password, token or secret is shown as
 * {@link #MASK}. Everything that logs, publishes or serves config (start log, reload diff, {@code /admin/config},
 * {@code config.changed} events, {@code DbSettings.toString}) goes through {@link #redact}, so a new secret key is
 * covered by its name alone.
 */
public final class Secrets {

  public static final String MASK = "******";

  private Secrets() {
  }

  /** A deep copy of {@code json} with every secret masked. */
  public static JsonObject redact(JsonObject json) {
    JsonObject copy = new JsonObject();
    for (String key : json.fieldNames()) {
      Object value = json.getValue(key);
      if (value instanceof JsonObject child) {
        copy.put(key, redact(child));
      } else if (value instanceof JsonArray array) {
        copy.put(key, array.copy());
      } else if (isSecret(key) && value instanceof String s && !s.isEmpty()) {
        copy.put(key, MASK);
      } else {
        copy.put(key, value);
      }
    }
    return copy;
  }

  public static boolean isSecret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password") || k.contains("token") || k.contains("secret");
  }
}

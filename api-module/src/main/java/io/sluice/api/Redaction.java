package io.sluice.api;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Locale;

/** Masks secrets in a config tree before it is shown: any key named like a password, token or secret. */
final class Redaction {

  static final String MASK = "******";

  private Redaction() {
  }

  static JsonObject redact(JsonObject json) {
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

  private static boolean isSecret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password") || k.contains("token") || k.contains("secret");
  }
}

package io.sluice.api;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.sluice.config.Secrets;
import io.vertx.core.json.JsonObject;

/**
 * The {@code admin} section.
 *
 * @param token bearer token of {@code /admin/*}; empty: those endpoints do not exist. Never logged or shown.
 */
public record AdminSettings(String token) {

  /** The admin routes exist or not from the start: the token waits for a restart. */
  public static final Schema SCHEMA = Schema.of().restartOnly("token");

  public static AdminSettings from(JsonObject admin) {
    return from(JsonSection.at("admin", admin));
  }

  public static AdminSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new AdminSettings(s.string("token", ""));
  }

  public static AdminSettings defaults() {
    return from(new JsonObject());
  }

  public JsonObject toJson() {
    return new JsonObject().put("token", token);
  }

  @Override
  public String toString() {
    return "AdminSettings" + Secrets.redact(toJson()).encode();
  }
}

package io.sluice.contract.client;

import io.sluice.contract.Fields;
import io.vertx.core.json.JsonObject;

import java.time.Instant;

/** A notification of a user ({@code {id, title, body, read, createdAt}}; {@code createdAt} is ISO-8601 UTC). */
public record Notification(long id, String title, String body, boolean read, Instant createdAt) {

  /** From one element of a {@link io.sluice.contract.Action#LIST_NOTIFICATIONS} reply, or a create reply. */
  public static Notification fromJson(JsonObject json) {
    return new Notification(json.getLong(Fields.ID), json.getString(Fields.TITLE), json.getString(Fields.BODY),
      json.getBoolean(Fields.READ), Instant.parse(json.getString(Fields.CREATED_AT)));
  }
}

package io.sluice.contract.client;

import io.sluice.contract.Fields;
import io.vertx.core.json.JsonObject;

/** A user, as the proxy stores it ({@code {id, name, email}}; name and email trimmed). */
public record User(long id, String name, String email) {

  /** From a reply body of {@link io.sluice.contract.Action#GET_USER} or {@link io.sluice.contract.Action#CREATE_USER}. */
  public static User fromJson(JsonObject json) {
    return new User(json.getLong(Fields.ID), json.getString(Fields.NAME), json.getString(Fields.EMAIL));
  }
}

package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.function.Function;

/**
 * One validated request, ready to run on a borrowed connection.
 *
 * @param action the contract action name
 * @param key    what the request is about, for log lines ({@code user_id=42}); never personal data or secrets
 * @param write    writes run in a transaction that is rolled back if the statement timeout passed first
 * @param userId   the user the request is about, 0 when none (create user, ping)
 * @param cacheKey for cacheable reads, the key of the reply in its cache; null otherwise
 * @param work     the statements, run on the borrowed connection (through {@link Db})
 */
record Operation(String action, String key, boolean write, long userId, Object cacheKey,
                 Function<Db, Future<JsonObject>> work) {

  /** Cache key of a notification list: the same user can be read with several filters. */
  record NotificationsKey(long userId, boolean unreadOnly, int limit) {
  }
}

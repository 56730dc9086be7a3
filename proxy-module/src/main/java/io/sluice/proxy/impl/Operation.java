package io.sluice.proxy.impl;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;

import java.util.function.Function;

/**
 * One validated request, ready to run on a borrowed connection.
 *
 * @param action the contract action name
 * @param key    what the request is about, for log lines ({@code user_id=42}); never personal data or secrets
 * @param write  writes run in a transaction that is rolled back if the statement timeout passed first
 * @param work   the statements, run on the borrowed connection
 */
record Operation(String action, String key, boolean write, Function<SqlConnection, Future<JsonObject>> work) {
}

package io.sluice.proxy.impl;

import io.vertx.sqlclient.PreparedQuery;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;

/**
 * The borrowed connection as operations see it: every statement gets the server-side time limit of the request's
 * remaining budget.
 */
interface Db {

  PreparedQuery<RowSet<Row>> prepared(String sql);
}

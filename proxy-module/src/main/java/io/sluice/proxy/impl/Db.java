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

  /**
   * As {@link #prepared}, but a row lock held by another transaction fails the statement at once (error 1205)
   * instead of waiting for it: on MariaDB ({@code innodb_lock_wait_timeout=0} for the statement). On MySQL it waits,
   * bounded by the request's deadline like any statement.
   */
  PreparedQuery<RowSet<Row>> preparedNoLockWait(String sql);
}

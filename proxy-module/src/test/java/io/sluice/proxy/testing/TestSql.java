package io.sluice.proxy.testing;

import io.vertx.core.Vertx;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Tuple;

/**
 * Direct reads of the test database, for checking what the service stored (or did not). Tests never write through
 * it: data is created through the service's own API.
 */
public final class TestSql implements AutoCloseable {

  private final Pool pool;

  public TestSql(Vertx vertx) {
    pool = MySQLBuilder.pool()
      .with(new PoolOptions().setMaxSize(1).setName("test-checks"))
      .connectingTo(TestDatabase.settings().toConnectOptions())
      .using(vertx)
      .build();
  }

  public long count(String sql, Object... params) {
    return pool.preparedQuery(sql).execute(Tuple.from(params)).await().iterator().next().getLong(0);
  }

  /** The first column of every row, as longs. */
  public java.util.List<Long> longs(String sql, Object... params) {
    java.util.List<Long> values = new java.util.ArrayList<>();
    pool.preparedQuery(sql).execute(Tuple.from(params)).await().forEach(row -> values.add(row.getLong(0)));
    return values;
  }

  /** The first column of the first row, as text (null when there is no row). */
  public String string(String sql, Object... params) {
    var rows = pool.preparedQuery(sql).execute(Tuple.from(params)).await();
    return rows.size() == 0 ? null : String.valueOf(rows.iterator().next().getValue(0));
  }

  /** A statement that cannot be prepared ({@code KILL}, ...), with its values already in {@code sql}. */
  public void execute(String sql) {
    pool.query(sql).execute().await();
  }

  @Override
  public void close() {
    pool.close().await();
  }
}

package io.sluice.launcher;

import io.sluice.proxy.config.DbSettings;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts, on the database server, the connections of the service's user ({@code information_schema.PROCESSLIST},
 * this counter's own connection left out), on a thread of its own every few milliseconds, and keeps the highest
 * count seen since the last {@link #resetMax()}: what {@link ClusterIT} holds against the documented bound.
 */
final class ServerConnections implements AutoCloseable {

  private static final String COUNT = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?"
    + " AND ID <> CONNECTION_ID()";

  private final Connection connection;
  private final String user;
  private final AtomicInteger max = new AtomicInteger();
  private final AtomicInteger last = new AtomicInteger();
  private final Thread sampler;
  private volatile boolean stop;
  private volatile SQLException failure;

  ServerConnections(DbSettings db) throws SQLException {
    this.connection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
    this.user = db.user();
    this.sampler = new Thread(this::sample, "server-connections");
    sampler.setDaemon(true);
    sampler.start();
  }

  private void sample() {
    try (PreparedStatement statement = connection.prepareStatement(COUNT)) {
      statement.setString(1, user);
      while (!stop) {
        try (ResultSet rows = statement.executeQuery()) {
          rows.next();
          int n = rows.getInt(1);
          last.set(n);
          max.accumulateAndGet(n, Math::max);
        }
        Thread.sleep(10);
      }
    } catch (SQLException e) {
      failure = e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The highest count since the last reset. */
  int max() {
    check();
    return max.get();
  }

  int last() {
    check();
    return last.get();
  }

  int resetMax() {
    check();
    return max.getAndSet(last.get());
  }

  /** Starts a window of its own: the highest count from the next sample on (the last one may be older). */
  void startWindow() {
    check();
    max.set(0);
  }

  private void check() {
    if (failure != null) {
      throw new AssertionError("counting the server's connections failed", failure);
    }
  }

  @Override
  public void close() throws SQLException {
    stop = true;
    try {
      sampler.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    connection.close();
  }
}

package io.sluice.proxy.impl;

import io.vertx.mysqlclient.MySQLException;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Server-side time limits for statements, in the dialect of the server we talk to (detected at start from
 * {@code SELECT VERSION()}):
 * <ul>
 *   <li>MariaDB: {@code SET STATEMENT max_statement_time=<s> FOR <statement>}, for any statement;</li>
 *   <li>MySQL 8: the {@code MAX_EXECUTION_TIME(<ms>)} optimizer hint, which applies to SELECT only.</li>
 * </ul>
 * The limit is the remaining budget rounded UP to one of a few steps: every distinct limit is a distinct SQL text,
 * and a bounded set of texts keeps the prepared-statement cache effective. The server limit is therefore never
 * earlier than the deadline; the proxy's own timer and {@code KILL QUERY} enforce the exact deadline, the server
 * limit is the backstop if the proxy cannot.
 */
final class ServerLimits {

  enum Flavor { MARIADB, MYSQL }

  /** MariaDB ER_STATEMENT_TIMEOUT, MySQL ER_QUERY_TIMEOUT, and the interrupt of KILL QUERY. */
  static final int MARIADB_STATEMENT_TIMEOUT = 1969;
  static final int MYSQL_QUERY_TIMEOUT = 3024;
  static final int QUERY_INTERRUPTED = 1317;

  private static final long[] STEPS_MS = {100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000,
    15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 3_600_000};

  private final Flavor flavor;
  /** The limited text of each statement at each step, built once: the set is small and fixed. */
  private final Map<String, String[]> texts = new ConcurrentHashMap<>();

  ServerLimits(Flavor flavor) {
    this.flavor = flavor;
  }

  static ServerLimits forVersion(String version) {
    return new ServerLimits(version != null && version.toLowerCase(Locale.ROOT).contains("mariadb")
      ? Flavor.MARIADB : Flavor.MYSQL);
  }

  Flavor flavor() {
    return flavor;
  }

  /** The statement with a server-side limit of at least {@code remainingMs}. */
  String limit(String sql, long remainingMs) {
    return limit(sql, remainingMs, false);
  }

  /**
   * As {@link #limit(String, long)}; with {@code noLockWait}, on MariaDB, the statement also fails at once (1205)
   * on a row lock another transaction holds. MySQL has no per-statement form of that: the statement is unchanged.
   */
  String limit(String sql, long remainingMs, boolean noLockWait) {
    int step = stepIndex(remainingMs);
    String[] bySteps = texts.computeIfAbsent(noLockWait ? NO_LOCK_WAIT + sql : sql,
      s -> new String[STEPS_MS.length]);
    String text = bySteps[step];
    if (text == null) {
      text = render(sql, STEPS_MS[step], noLockWait);
      bySteps[step] = text;
    }
    return text;
  }

  private static final String NO_LOCK_WAIT = "innodb_lock_wait_timeout=0, ";

  private String render(String sql, long ms, boolean noLockWait) {
    if (flavor == Flavor.MARIADB) {
      return "SET STATEMENT " + (noLockWait ? NO_LOCK_WAIT : "") + "max_statement_time=" + (ms / 1000) + "."
        + String.format("%03d", ms % 1000) + " FOR " + sql;
    }
    if (sql.startsWith("SELECT ")) {
      return "SELECT /*+ MAX_EXECUTION_TIME(" + ms + ") */ " + sql.substring("SELECT ".length());
    }
    return sql;
  }

  private static int stepIndex(long remainingMs) {
    for (int i = 0; i < STEPS_MS.length; i++) {
      if (remainingMs <= STEPS_MS[i]) {
        return i;
      }
    }
    return STEPS_MS.length - 1;
  }

  /** The server stopped the statement for its time limit. */
  static boolean isServerTimeout(Throwable err) {
    return err instanceof MySQLException e && (e.getErrorCode() == MARIADB_STATEMENT_TIMEOUT
      || e.getErrorCode() == MYSQL_QUERY_TIMEOUT);
  }

  /** The statement was stopped by KILL QUERY. */
  static boolean isInterrupted(Throwable err) {
    return err instanceof MySQLException e && e.getErrorCode() == QUERY_INTERRUPTED;
  }
}

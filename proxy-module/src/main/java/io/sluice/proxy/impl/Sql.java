package io.sluice.proxy.impl;

import io.sluice.proxy.config.FaultSettings;

/**
 * Every statement the proxy runs on request traffic. Parameters are {@code ?} placeholders only. The class is public
 * only so that {@link io.sluice.proxy.ProxyStatements} can republish the one statement tools outside the proxy must
 * reproduce; everything else here stays package-private.
 */
public final class Sql {

  static final String INSERT_USER = "INSERT INTO users (name, email, created_at) VALUES (?, ?, ?)";

  /** Republished as {@link io.sluice.proxy.ProxyStatements#SELECT_USER}. */
  public static final String SELECT_USER = "SELECT id, name, email FROM users WHERE id = ?";

  /** Point reads of several users ({@link PointReads}): followed by the placeholders and ")". */
  static final String SELECT_USERS_IN = "SELECT id, name, email FROM users WHERE id IN (";

  static final String USER_EXISTS = "SELECT 1 FROM users WHERE id = ?";

  /** One row when the user exists; its settings column is NULL when none are stored. */
  static final String SELECT_SETTINGS =
    "SELECT s.settings FROM users u LEFT JOIN user_settings s ON s.user_id = u.id WHERE u.id = ?";

  /** Point reads of several users' settings: one row per existing user; followed by the placeholders and ")". */
  static final String SELECT_SETTINGS_IN = "SELECT u.id, s.settings FROM users u LEFT JOIN user_settings s"
    + " ON s.user_id = u.id WHERE u.id IN (";

  /** Fails with a foreign-key error (1452) when the user does not exist. */
  static final String UPSERT_SETTINGS = "INSERT INTO user_settings (user_id, settings, updated_at) VALUES (?, ?, ?)"
    + " ON DUPLICATE KEY UPDATE settings = VALUES(settings), updated_at = VALUES(updated_at)";

  static final String SELECT_NOTIFICATIONS = "SELECT id, title, body, is_read, created_at FROM notifications"
    + " WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?";

  static final String SELECT_UNREAD_NOTIFICATIONS = "SELECT id, title, body, is_read, created_at FROM notifications"
    + " WHERE user_id = ? AND is_read = FALSE ORDER BY created_at DESC, id DESC LIMIT ?";

  /** Fails with a foreign-key error (1452) when the user does not exist. */
  static final String INSERT_NOTIFICATION =
    "INSERT INTO notifications (user_id, title, body, is_read, created_at) VALUES (?, ?, ?, FALSE, ?)";

  static final String MARK_NOTIFICATION_READ =
    "UPDATE notifications SET is_read = TRUE WHERE id = ? AND user_id = ? AND is_read = FALSE";

  static final String NOTIFICATION_EXISTS = "SELECT 1 FROM notifications WHERE id = ? AND user_id = ?";

  /**
   * Claims an idempotency key for the running transaction. Duplicate key (1062): a committed key exists; lock wait
   * (1205, at once on MariaDB, see {@link Db#preparedNoLockWait}): another transaction holds it, still in flight.
   * Every idempotency time is the database's clock ({@code UTC_TIMESTAMP(3)}: the columns hold UTC whatever the
   * session's {@code time_zone}), never a proxy's: a proxy whose clock runs ahead must not take over live keys.
   */
  static final String CLAIM_IDEMPOTENCY_KEY = "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, response,"
    + " created_at, expires_at) VALUES (?, ?, ?, NULL, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL ? HOUR)";

  /** {@code expired} is decided by the database's clock (1 or 0), like every idempotency time. */
  static final String SELECT_IDEMPOTENCY_KEY = "SELECT fingerprint, response, expires_at <= UTC_TIMESTAMP(3) AS expired"
    + " FROM idempotency_keys WHERE scope = ? AND idem_key = ?";

  /**
   * Takes over an expired key that the purge has not deleted yet; 0 rows when it is not expired (any more). The
   * expiry test and the new times are the database's clock, in the same statement as the row lock.
   */
  static final String TAKE_OVER_EXPIRED_IDEMPOTENCY_KEY = "UPDATE idempotency_keys SET fingerprint = ?,"
    + " response = NULL, created_at = UTC_TIMESTAMP(3), expires_at = UTC_TIMESTAMP(3) + INTERVAL ? HOUR"
    + " WHERE scope = ? AND idem_key = ? AND expires_at <= UTC_TIMESTAMP(3)";

  /** The reply of the write, stored in its transaction just before COMMIT. */
  static final String STORE_IDEMPOTENT_REPLY =
    "UPDATE idempotency_keys SET response = ? WHERE scope = ? AND idem_key = ?";

  /** One small batch of the purge (expired by the database's clock); repeated while it deletes a full batch. */
  static final String PURGE_IDEMPOTENCY_KEYS =
    "DELETE FROM idempotency_keys WHERE expires_at <= UTC_TIMESTAMP(3) LIMIT ?";

  static final String PING = "SELECT 1";

  /**
   * Fault injection: keeps the borrowed connection busy on the server, like a slow query would, by waiting for the
   * {@link LatencyGate}'s lock (name, seconds, name). Should the holder be gone, the waiter takes the lock and gives it
   * back at once: no session keeps it.
   */
  static final String INJECTED_LATENCY =
    "DO " + FaultSettings.STATEMENT_MARK + " GET_LOCK(?, ?), RELEASE_LOCK(?)";

  /** Fault injection while the {@link LatencyGate} has no holder (start, holder reconnecting): seconds. */
  static final String INJECTED_SLEEP = "DO " + FaultSettings.STATEMENT_MARK + " SLEEP(?)";

  /** The {@link LatencyGate}'s holder takes its lock, without waiting: 1 when it has it. */
  static final String TAKE_LATENCY_GATE = "SELECT GET_LOCK(?, 0)";

  private Sql() {
  }
}

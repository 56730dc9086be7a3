package io.sluice.proxy.impl;

import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.Fields;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Idempotency keys on writes, after the IETF httpapi Idempotency-Key draft.
 *
 * <p>Invariant: <em>the key, the request's fingerprint and the reply are committed in the same transaction as the
 * write they protect</em>. The key is claimed by the transaction's first statement (an INSERT on the primary key
 * (scope, key)), the reply stored by its last, just before COMMIT. So a committed key always has its reply and its
 * write; a write rolled back (a timeout, an error, a lost connection) leaves no key, and its retry runs as new.
 * While the first transaction is open its uncommitted row holds the key's lock: a second request with the same key
 * fails at once on that lock (MariaDB; {@link Db#preparedNoLockWait}) and is told the first is in progress; after
 * the commit it meets the committed row: the same fingerprint gets the stored reply (and writes nothing), another
 * one gets {@link FailureCode#IDEMPOTENCY_KEY_REUSED}.
 *
 * <p>Keys are scoped by action, and by user for a user's notifications. A key lives {@code idempotency.ttlHours}
 * after it was claimed; an expired key that the purge has not yet deleted is taken over by the next request.
 * Invariant: <em>every idempotency time is the database's clock</em>, read in the statement that writes or decides
 * it ({@link Sql#CLAIM_IDEMPOTENCY_KEY}): the nodes' clocks may disagree, and one whose clock runs ahead by more
 * than the TTL would otherwise take over live keys and run a write twice.
 */
final class Idempotency {

  /** ER_LOCK_WAIT_TIMEOUT: with {@code innodb_lock_wait_timeout=0}, the key is held by a transaction in flight. */
  static final int ER_LOCK_WAIT_TIMEOUT = 1205;

  /** The purge's name in log lines (its batches are not a contract action: no lane, no cache). */
  static final String PURGE = "idempotency.purge";
  private static final String DELETED = "deleted";

  private final long ttlHours;

  Idempotency(long ttlHours) {
    this.ttlHours = ttlHours;
  }

  /** Whether {@code action} honours an idempotency key. */
  static boolean applies(String action) {
    return Action.CREATE_USER.equals(action) || Action.CREATE_NOTIFICATION.equals(action);
  }

  /**
   * {@code op} (a validated write of an action that {@link #applies}) under idempotency key {@code key}: claims the
   * key, runs the work, stores the reply. A request seen before fails with {@link ProxyFailure#replay} (same
   * request), 422 (another request) or 423 (still in flight); none of them has written anything.
   */
  Operation wrap(Operation op, JsonObject body, String key) {
    String scope = Action.CREATE_NOTIFICATION.equals(op.action())
      ? op.action() + ":" + body.getLong(Fields.USER_ID) : op.action();
    String fingerprint = fingerprint(op.action(), body);
    return Operation.write(op.action(), op.key(), op.cacheWrites(), db -> claim(db, scope, key, fingerprint)
      .compose(v -> op.work().apply(db))
      .compose(reply -> db.prepared(Sql.STORE_IDEMPOTENT_REPLY).execute(Tuple.of(reply.encode(), scope, key))
        .map(reply)));
  }

  private Future<Void> claim(Db db, String scope, String key, String fingerprint) {
    return db.preparedNoLockWait(Sql.CLAIM_IDEMPOTENCY_KEY).execute(Tuple.of(scope, key, fingerprint, ttlHours))
      .<Void>mapEmpty()
      .recover(err -> {
        if (Operations.isError(err, Operations.ER_DUP_ENTRY)) {
          return existing(db, scope, key, fingerprint);
        }
        return Future.failedFuture(Operations.isError(err, ER_LOCK_WAIT_TIMEOUT) ? inProgress() : err);
      });
  }

  /** The key is committed: replay, refuse, or take it over when it expired. */
  private Future<Void> existing(Db db, String scope, String key, String fingerprint) {
    return db.prepared(Sql.SELECT_IDEMPOTENCY_KEY).execute(Tuple.of(scope, key)).compose(rows -> {
      if (rows.size() == 0) {
        // Purged between the two statements: the retry will claim it.
        return Future.failedFuture(inProgress());
      }
      Row row = rows.iterator().next();
      if (row.getLong("expired") != 0) {
        return db.preparedNoLockWait(Sql.TAKE_OVER_EXPIRED_IDEMPOTENCY_KEY)
          .execute(Tuple.of(fingerprint, ttlHours, scope, key))
          .compose(updated -> updated.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(inProgress()))
          .recover(err -> Future.failedFuture(Operations.isError(err, ER_LOCK_WAIT_TIMEOUT) ? inProgress() : err));
      }
      if (!fingerprint.equals(row.getString("fingerprint"))) {
        return Future.failedFuture(new ProxyFailure(FailureCode.IDEMPOTENCY_KEY_REUSED,
          "this idempotency key was used for a different request; use a new key for a new request"));
      }
      String response = row.getString("response");
      return Future.failedFuture(response == null ? inProgress() : ProxyFailure.replay(new JsonObject(response)));
    });
  }

  /**
   * Deletes expired keys (by the database's clock) in batches of {@code batchSize}, each one background work of the
   * request pool ({@link PoolExecutor#runMaintenance}: a counted admission permit, a request's deadline and its
   * server-side limit, the connection back or destroyed by deadline + kill grace), until a batch comes back short,
   * one fails, or {@code stopAtNanos} ({@link System#nanoTime()} scale) passed: the next purge goes on from there.
   * A batch never waits for a row lock (a write in flight holds it): it fails at once and leaves the row to the
   * next purge. The caller makes sure only one purge runs at a time.
   *
   * @return the number of keys deleted; a failure is the failing batch's (the batches before it stay deleted)
   */
  static Future<Long> purge(PoolExecutor executor, int batchSize, long stopAtNanos) {
    return purgeFrom(executor, batchSize, stopAtNanos, 0);
  }

  private static Future<Long> purgeFrom(PoolExecutor executor, int batchSize, long stopAtNanos, long deleted) {
    Operation batch = Operation.write(PURGE, "batch of " + batchSize, List.of(),
      db -> db.preparedNoLockWait(Sql.PURGE_IDEMPOTENCY_KEYS).execute(Tuple.of(batchSize))
        .map(rows -> new JsonObject().put(DELETED, rows.rowCount())));
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(executor.defaultBudgetMs());
    return executor.runMaintenance(batch, deadline, PURGE).compose(reply -> {
      int rows = reply.getInteger(DELETED);
      boolean more = rows == batchSize && System.nanoTime() - stopAtNanos < 0;
      return more ? purgeFrom(executor, batchSize, stopAtNanos, deleted + rows)
        : Future.succeededFuture(deleted + rows);
    });
  }

  private static ProxyFailure inProgress() {
    return new ProxyFailure(FailureCode.REQUEST_IN_PROGRESS, FailureCode.withRetryAfter(
      "a request with this idempotency key is in progress; retry with the same key to get its answer", 1));
  }

  /** SHA-256 of the action and the body with its keys sorted: the same request from any caller, in any order. */
  static String fingerprint(String action, JsonObject body) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(action.getBytes(StandardCharsets.UTF_8));
      digest.update((byte) '\n');
      digest.update(new JsonObject(new TreeMap<>(body.getMap())).encode().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}

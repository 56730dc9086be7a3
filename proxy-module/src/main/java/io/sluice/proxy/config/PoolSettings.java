package io.sluice.proxy.config;

import io.sluice.config.JsonSection;
import io.sluice.config.Schema;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.PoolOptions;

import java.util.concurrent.TimeUnit;

/**
 * The request pool's bounds ({@code db.pool}). Unlike Vert.x's own defaults (unbounded wait queue, 30 s acquire
 * timeout), ours fail fast: a saturated pool answers 503 instead of piling up waiters.
 */
public record PoolSettings(int maxSize, int maxWaitQueueSize, long acquireTimeoutMs, long idleTimeoutMs,
                           long maxLifetimeMs, long queueDelayTargetMs) {

  public static final int DEFAULT_MAX_SIZE = 20;
  public static final int DEFAULT_MAX_WAIT_QUEUE_SIZE = 100;
  public static final long DEFAULT_ACQUIRE_TIMEOUT_MS = 2000;
  public static final long DEFAULT_IDLE_TIMEOUT_MS = 60_000;
  public static final long DEFAULT_MAX_LIFETIME_MS = 1_800_000;
  /**
   * Longest predicted wait in the proxy's queue before a request is refused at once (0 = no target). A queue in front
   * of a busy pool only has to keep every connection busy: when one frees, a waiter should be there to take it. In
   * the incident (70 connections, statements of 400–1000 ms) one frees about every 10 ms, so 50 ms lets 5 wait, enough
   * to bridge gaps between arrivals, and adds at most about 50 ms to a success instead of the second that a full queue
   * of 100 added. Fast statements are not affected: with 20 connections held 2 ms each, 50 ms is 500 places, more
   * than {@link #DEFAULT_MAX_WAIT_QUEUE_SIZE}.
   */
  public static final long DEFAULT_QUEUE_DELAY_TARGET_MS = 50;

  /** The pool name, which is also the {@code pool_name} label of Vert.x's pool metrics. */
  public static final String POOL_NAME = "sluice-db";

  /**
   * All live: a changed pool is built anew once the capacity guard accepts it, and swapped in; a change of the
   * queueing-delay target alone applies to the running pool ({@link #needsNewPool}).
   */
  public static final Schema SCHEMA = Schema.of().live("maxSize", "maxWaitQueueSize", "acquireTimeoutMs",
    "idleTimeoutMs", "maxLifetimeMs", "queueDelayTargetMs");

  /**
   * The admin pool (KILL QUERY, server checks) waits this long for its one connection, opening it included: a
   * just-started or busy server can take seconds to accept one, and the start's checks must not fail for that. Kills
   * do not depend on it: each has its own wait and drops itself, never sent late, when its connection comes after
   * it (Vert.x's default of 30 s once let a stale kill land on the next request's statement).
   */
  public static final long ADMIN_ACQUIRE_TIMEOUT_MS = 10_000;
  /**
   * Bound of the admin pool's wait queue (Vert.x's default is unbounded). Only the proxy's one shared admin
   * connection waits there (it is borrowed once and pipelined, not leased per kill), so it is never reached.
   */
  public static final int ADMIN_MAX_WAIT_QUEUE_SIZE = 8;

  public static PoolSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    return new PoolSettings(
      s.integer("maxSize", DEFAULT_MAX_SIZE, 1, 10_000),
      s.integer("maxWaitQueueSize", DEFAULT_MAX_WAIT_QUEUE_SIZE, 0, 1_000_000),
      s.longValue("acquireTimeoutMs", DEFAULT_ACQUIRE_TIMEOUT_MS, 1, 3_600_000),
      s.longValue("idleTimeoutMs", DEFAULT_IDLE_TIMEOUT_MS, 0, Long.MAX_VALUE / 2),
      s.longValue("maxLifetimeMs", DEFAULT_MAX_LIFETIME_MS, 0, Long.MAX_VALUE / 2),
      s.longValue("queueDelayTargetMs", DEFAULT_QUEUE_DELAY_TARGET_MS, 0, 3_600_000));
  }

  /**
   * Whether going from {@code running} to these settings needs a new pool (a swap). Every key does except
   * {@code queueDelayTargetMs}, which only the proxy's admission reads and which applies in place.
   */
  public boolean needsNewPool(PoolSettings running) {
    return !equals(new PoolSettings(running.maxSize, running.maxWaitQueueSize, running.acquireTimeoutMs,
      running.idleTimeoutMs, running.maxLifetimeMs, queueDelayTargetMs));
  }

  /** The same settings with {@code size} connections: a node's share of the tier's budget. */
  public PoolSettings withMaxSize(int size) {
    return new PoolSettings(size, maxWaitQueueSize, acquireTimeoutMs, idleTimeoutMs, maxLifetimeMs,
      queueDelayTargetMs);
  }

  /**
   * Options of the Vert.x pool. Its own wait queue is left unbounded on purpose: the proxy's admission (a bounded
   * FIFO of {@code maxWaitQueueSize} whose waiters leave at their deadline) never lets more requests at the pool
   * than it has connections, so that queue only ever holds requests whose connection is being opened.
   */
  public PoolOptions toPoolOptions() {
    return new PoolOptions()
      .setName(POOL_NAME)
      .setMaxSize(maxSize)
      .setMaxWaitQueueSize(-1)
      .setConnectionTimeout((int) acquireTimeoutMs)
      .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS)
      .setIdleTimeout((int) Math.min(idleTimeoutMs, Integer.MAX_VALUE))
      .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
      .setMaxLifetime((int) Math.min(maxLifetimeMs, Integer.MAX_VALUE))
      .setMaxLifetimeUnit(TimeUnit.MILLISECONDS);
  }

  /**
   * The one-connection admin pool outside the request pool: a saturated pool must not block its own rescue. Its
   * connection is borrowed once and shared, pipelined, by kills and checks (the proxy's {@code AdminConnection}).
   */
  public static PoolOptions adminPoolOptions() {
    return new PoolOptions()
      .setName(POOL_NAME + "-admin")
      .setMaxSize(1)
      .setMaxWaitQueueSize(ADMIN_MAX_WAIT_QUEUE_SIZE)
      .setConnectionTimeout((int) ADMIN_ACQUIRE_TIMEOUT_MS)
      .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS);
  }

  public JsonObject toJson() {
    return new JsonObject()
      .put("maxSize", maxSize)
      .put("maxWaitQueueSize", maxWaitQueueSize)
      .put("acquireTimeoutMs", acquireTimeoutMs)
      .put("idleTimeoutMs", idleTimeoutMs)
      .put("maxLifetimeMs", maxLifetimeMs)
      .put("queueDelayTargetMs", queueDelayTargetMs);
  }

  /** The effective settings in one line, as logged at start. */
  public String describe() {
    return "maxSize=" + maxSize + " maxWaitQueueSize=" + maxWaitQueueSize + " acquireTimeoutMs=" + acquireTimeoutMs
      + " idleTimeoutMs=" + idleTimeoutMs + " maxLifetimeMs=" + maxLifetimeMs
      + " queueDelayTargetMs=" + queueDelayTargetMs;
  }
}

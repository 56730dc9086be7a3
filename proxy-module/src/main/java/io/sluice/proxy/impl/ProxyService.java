package io.sluice.proxy.impl;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.proxy.contract.Action;
import io.sluice.proxy.contract.Fields;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;

/**
 * What the proxy does with one request: validate it, answer reads from the caches or the pool, run writes on the
 * pool and bring the caches up to date before acknowledging them. The verticle only moves messages.
 */
public final class ProxyService {

  /** A reply body plus its cache provenance ({@code cacheStatus} null when no cache was involved). */
  public record Reply(JsonObject body, String cacheStatus, long ageSeconds) {
  }

  private final ProxyMetrics metrics;
  private final PoolExecutor executor;
  private final ReadCache<Long> users;
  private final ReadCache<Long> settings;
  private final ReadCache<Operation.NotificationsKey> notifications;

  /**
   * @param pool          the request pool
   * @param adminPool     a one-connection pool outside the request pool, for KILL QUERY
   * @param serverVersion {@code SELECT VERSION()} of the server, to speak its dialect of statement time limits
   */
  public ProxyService(Vertx vertx, Pool pool, Pool adminPool, String serverVersion, ProxyConfig config,
                      Ticker ticker, MeterRegistry registry) {
    this.metrics = new ProxyMetrics(registry);
    this.executor = new PoolExecutor(vertx, pool, adminPool, serverVersion, config.db(), config.faults(), metrics);
    this.users = new ReadCache<>("users", config.cache().users(), ticker);
    this.settings = new ReadCache<>("settings", config.cache().settings(), ticker);
    this.notifications = new ReadCache<>("notifications", config.cache().notifications(), ticker);
    users.bind(metrics);
    settings.bind(metrics);
    notifications.bind(metrics);
  }

  /**
   * Fails only with a {@link ProxyFailure}.
   *
   * @param budgetMs the caller's remaining time, or null for the default (acquire timeout + statement timeout)
   */
  public Future<Reply> handle(String action, JsonObject body, String requestId, Long budgetMs) {
    if (Action.STATS.equals(action)) {
      return Future.succeededFuture(new Reply(stats(), null, -1));
    }
    Operation op;
    try {
      op = Operations.prepare(action, body == null ? new JsonObject() : body);
    } catch (ProxyFailure failure) {
      return Future.failedFuture(failure);
    }
    long budget = budgetMs == null ? executor.defaultBudgetMs() : budgetMs;
    if (op.write()) {
      return executor.run(op, budget, requestId).map(result -> {
        updateCaches(op, result);
        return new Reply(result, null, -1);
      });
    }
    return read(op, budget, requestId).map(r -> new Reply(r.value(), r.status(), r.ageSeconds()));
  }

  /** Concurrent misses share the first caller's load, and so its deadline. */
  private Future<ReadCache.Result> read(Operation op, long budget, String requestId) {
    return switch (op.action()) {
      case Action.GET_USER -> users.get((Long) op.cacheKey(), () -> executor.run(op, budget, requestId));
      case Action.GET_SETTINGS -> settings.get((Long) op.cacheKey(), () -> executor.run(op, budget, requestId));
      case Action.LIST_NOTIFICATIONS -> notifications.get((Operation.NotificationsKey) op.cacheKey(),
        () -> executor.run(op, budget, requestId));
      default -> executor.run(op, budget, requestId).map(value -> new ReadCache.Result(value, null, -1));
    };
  }

  /** Runs after the write committed and before it is acknowledged. */
  private void updateCaches(Operation op, JsonObject result) {
    switch (op.action()) {
      case Action.CREATE_USER -> users.put(result.getLong(Fields.ID), result);
      case Action.PUT_SETTINGS -> settings.put(op.userId(), result);
      case Action.CREATE_NOTIFICATION, Action.MARK_NOTIFICATION_READ ->
        notifications.invalidate(key -> key.userId() == op.userId());
      default -> {
      }
    }
  }

  /** Pool and cache counters since start. */
  public JsonObject stats() {
    return new JsonObject()
      .put("pool", executor.stats())
      .put("caches", new JsonObject()
        .put(users.name(), users.stats())
        .put(settings.name(), settings.stats())
        .put(notifications.name(), notifications.stats()));
  }

  public Future<Void> drain(long maxWaitMs) {
    return executor.drain(maxWaitMs);
  }

  public Future<Void> close() {
    metrics.close();
    return executor.close();
  }
}

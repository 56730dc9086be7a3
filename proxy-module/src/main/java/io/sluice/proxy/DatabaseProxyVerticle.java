package io.sluice.proxy;

import io.sluice.config.JsonSection;
import io.sluice.proxy.config.IdempotencySettings;
import io.sluice.proxy.config.PoolSettings;
import io.sluice.proxy.config.ProxyConfig;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.sluice.proxy.impl.ProxyFailure;
import io.sluice.proxy.impl.ProxyService;
import io.sluice.proxy.impl.Sockets;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.impl.Requests;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.backends.BackendRegistries;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import com.github.benmanes.caffeine.cache.Ticker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The database proxy: the only owner of a MySQL pool in the process, served over the event bus at
 * {@link ProxyContract#ADDRESS}.
 *
 * <p>Invariants: exactly one request {@link Pool} per deployed instance at a time (owned by {@link ProxyService};
 * during a config reload the old one drains while the new one serves), plus a one-connection admin pool for
 * KILL QUERY and server checks and a one-connection pool for readiness (owned by {@link ProxyService}); all closed
 * in {@link #stop()}; every message gets a reply or a {@code fail(code, text)} with a code of
 * {@link io.sluice.contract.FailureCode}, never silence. The schema must exist before deployment (the launcher
 * runs the migrations first, off the event loop).
 *
 * <p>Config: the {@code db}, {@code cache} and {@code faults} sections, see {@link ProxyConfig}, and the
 * {@code idempotency} section ({@link IdempotencySettings}, restart-only). A start that cannot
 * reach the database fails its future with one descriptive log line.
 */
public class DatabaseProxyVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(DatabaseProxyVerticle.class);

  private final Ticker ticker;
  private Pool adminPool;
  private final Sockets adminSockets = new Sockets();
  private long killGraceMs = DbSettings.DEFAULT_KILL_GRACE_MS;
  private ProxyService service;
  private MessageConsumer<JsonObject> consumer;

  public DatabaseProxyVerticle() {
    this(Ticker.systemTicker());
  }

  /** @param ticker the clock of the caches' TTLs; tests pass one they can advance */
  public DatabaseProxyVerticle(Ticker ticker) {
    this.ticker = ticker;
  }

  @Override
  public Future<?> start() {
    ProxyConfig config;
    IdempotencySettings idempotency;
    try {
      config = ProxyConfig.from(config());
      idempotency = IdempotencySettings.from(JsonSection.root(config()).section("idempotency"));
    } catch (RuntimeException e) {
      log.error("Database proxy not started: invalid config: {}", e.getMessage());
      return Future.failedFuture(e);
    }
    // One connection outside the request pool, for KILL QUERY and server checks: a saturated pool must not block
    // its own rescue.
    killGraceMs = config.db().killGraceMs();
    adminPool = MySQLBuilder.pool()
      .with(PoolSettings.adminPoolOptions())
      .with(config.db().toNetClientOptions())
      .connectingTo(config.db().toConnectOptions())
      .withConnectHandler(adminSockets::register)
      .using(vertx)
      .build();
    return adminPool.query("SELECT VERSION()").execute()
      .map(rows -> rows.iterator().next().getString(0))
      .onFailure(err -> log.error("Database proxy not started: cannot reach database {}:{}/{} as {}: {}",
        config.db().host(), config.db().port(), config.db().database(), config.db().user(), err.getMessage()))
      // The metrics registry of this Vert.x instance (null when metrics are off: the meters are then no-ops).
      .compose(version -> ProxyService.start(vertx, adminPool, version, config, ticker,
          vertx.isMetricsEnabled() ? BackendRegistries.getDefaultNow() : null, idempotency)
        .onFailure(err -> log.error("Database proxy not started: {}", err.getMessage()))
        .map(started -> {
          service = started;
          log.info("Database pool created: {} statementTimeoutMs={} server={}:{}/{} serverVersion={}",
            config.db().pool().describe(), config.db().statementTimeoutMs(), config.db().host(), config.db().port(),
            config.db().database(), version);
          return started;
        }))
      .compose(started -> {
        log.info("Caches: {}", config.cache().toJson().encode());
        if (config.faults().dbLatencyEnabled()) {
          log.warn("FAULT INJECTION ON: every statement is preceded by DO SLEEP of {}..{} ms on its connection."
            + " Do not run this in production.", config.faults().minMs(), config.faults().maxMs());
        }
        consumer = vertx.eventBus().consumer(ProxyContract.ADDRESS, this::handle);
        return consumer.completion();
      });
  }

  private void handle(Message<JsonObject> message) {
    String action = message.headers().get(ProxyContract.ACTION_HEADER);
    // Headers are input like the body: only a safe id reaches the log, and the budget is bounded.
    String requestId = Requests.requestId(message.headers().get(ProxyContract.REQUEST_ID_HEADER));
    JsonObject body;
    Long budgetMs;
    Long deadlineEpochMs;
    String idempotencyKey;
    try {
      body = message.body();
      budgetMs = Requests.timeoutMs(message.headers().get(ProxyContract.TIMEOUT_HEADER));
      deadlineEpochMs = Requests.deadlineEpochMs(message.headers().get(ProxyContract.DEADLINE_HEADER));
      idempotencyKey = Requests.idempotencyKey(message.headers().get(ProxyContract.IDEMPOTENCY_KEY_HEADER));
    } catch (ClassCastException e) {
      message.fail(FailureCode.BAD_REQUEST, "message body must be a JSON object");
      return;
    } catch (ProxyFailure e) {
      message.fail(e.code(), e.getMessage());
      return;
    }
    service.handle(action, body, requestId, budgetMs, deadlineEpochMs, idempotencyKey).onComplete(ar -> {
      if (ar.succeeded()) {
        ProxyService.Reply reply = ar.result();
        DeliveryOptions options = new DeliveryOptions();
        if (reply.replayed()) {
          options.addHeader(ProxyContract.IDEMPOTENT_REPLAYED_HEADER, "true");
        }
        if (reply.cacheStatus() != null) {
          options.addHeader(ProxyContract.CACHE_HEADER, reply.cacheStatus());
          if (reply.ageSeconds() >= 0 && !ProxyContract.CACHE_MISS.equals(reply.cacheStatus())) {
            options.addHeader(ProxyContract.AGE_HEADER, Long.toString(reply.ageSeconds()));
          }
        }
        message.reply(reply.body(), options);
      } else if (ar.cause() instanceof ProxyFailure failure) {
        message.fail(failure.code(), failure.getMessage());
      } else {
        log.error("{} failed unexpectedly request_id={}", action, requestId, ar.cause());
        message.fail(FailureCode.INTERNAL, "internal error");
      }
    });
  }

  @Override
  public Future<?> stop() {
    // Stop taking requests, let those in flight finish (bounded by their own timeouts), then close the pools (bounded
    // by db.killGraceMs each, then closed at the socket).
    Future<Void> unregistered = consumer == null ? Future.succeededFuture() : consumer.unregister();
    return unregistered
      .eventually(() -> service == null ? Future.succeededFuture() : service.drain())
      .eventually(() -> service == null ? Future.succeededFuture() : service.close())
      .eventually(() -> adminPool == null ? Future.succeededFuture()
        : adminSockets.close(vertx, adminPool, PoolSettings.POOL_NAME + "-admin", killGraceMs))
      .onComplete(ar -> log.info("Database proxy stopped, pool closed"));
  }
}

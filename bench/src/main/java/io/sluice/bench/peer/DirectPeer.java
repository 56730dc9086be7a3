package io.sluice.bench.peer;

import io.sluice.contract.Fields;
import io.sluice.proxy.ProxyStatements;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.mysqlclient.MySQLException;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The stack's direct limit, as the bench's direct peer: vertx-web and vertx-mysql-client with nothing in between,
 * one {@link UserVerticle} per available processor (or {@code --instances}), all listening on the same port (Vert.x
 * spreads the connections over them), no event bus, no admission, no metrics. It serves {@code GET /users/{id}} with
 * Sluice's statement ({@link ProxyStatements#SELECT_USER}), connect options ({@code DbSettings.toConnectOptions()}:
 * prepared-statement cache on) and JSON.
 *
 * <p>Pool: each verticle builds its own pool, and the sizes sum to {@code --pool-max-size} (70 in the bench; the
 * first {@code 70 % n} verticles get one more). A pool used only from the event loop that created it never hands a
 * result from one loop to another, which is how the fastest Vert.x services are written (TechEmpower's entries). A
 * single pool shared by all verticles would cost a thread hop per statement: this peer is meant to be the fast
 * reference, not a second design under test.
 *
 * <p>With {@code --latency-ms}, {@code DO SLEEP(x)} runs on the borrowed connection before the statement, as Sluice's
 * {@code faults.dbLatency}.
 *
 * <p>{@code PUT /users/{id}/settings} (the slow-lane scenario's writes) is Sluice's upsert
 * ({@link PeerConfig#UPSERT_SETTINGS}) as one plain pooled query, answered 504 {@code db_timeout} when it has no
 * outcome within {@value PeerConfig#WRITE_TIMEOUT_MS} ms (waiting for a connection included). The budget bounds the
 * answer only: vertx-mysql-client cannot cancel a running statement, so one stuck on a row lock keeps its connection
 * until the server ends it. No lanes, no admission: that is the direct design.
 */
public final class DirectPeer {

  private static final Logger log = LoggerFactory.getLogger(DirectPeer.class);

  public static void main(String[] args) {
    PeerConfig config = PeerConfig.parse(args, System.getenv());
    int instances = config.instances() > 0 ? config.instances() : Runtime.getRuntime().availableProcessors();
    Vertx vertx = Vertx.vertx();
    AtomicInteger next = new AtomicInteger();
    vertx.deployVerticle(() -> new UserVerticle(config,
          poolShare(config.poolMaxSize(), instances, next.getAndIncrement())),
        new DeploymentOptions().setInstances(instances))
      .onSuccess(id -> log.info("Direct peer listening on 127.0.0.1:{}: {} verticles, pools summing to {}, injected"
        + " latency {}", config.port(), instances, config.poolMaxSize(),
        config.latencyEnabled() ? config.latencyMinMs() + "-" + config.latencyMaxMs() + " ms" : "off"))
      .onFailure(e -> {
        log.error("Direct peer did not start: {}", e.getMessage(), e);
        vertx.close();
      });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> vertx.close().await(), "direct-peer-stop"));
  }

  /** Verticle {@code index}'s part of {@code total} connections over {@code n} verticles: the sizes sum to total. */
  static int poolShare(int total, int n, int index) {
    return total / n + (index < total % n ? 1 : 0);
  }

  /** One event loop's HTTP server, router and pool. */
  static final class UserVerticle extends VerticleBase {

    private final PeerConfig config;
    private final int poolSize;
    private Pool pool;

    UserVerticle(PeerConfig config, int poolSize) {
      this.config = config;
      this.poolSize = Math.max(1, poolSize);
    }

    @Override
    public Future<?> start() {
      pool = MySQLBuilder.pool().with(new PoolOptions().setMaxSize(poolSize))
        .with(config.db().toNetClientOptions()).connectingTo(config.db().toConnectOptions()).using(vertx).build();
      Router router = Router.router(vertx);
      router.get("/users/:id").handler(this::getUser);
      router.put("/users/:id/settings").handler(BodyHandler.create().setBodyLimit(Fields.MAX_SETTINGS_BYTES))
        .handler(this::putSettings);
      router.get("/health/live").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
      router.get("/health/ready").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
      return vertx.createHttpServer().requestHandler(router).listen(config.port(), "127.0.0.1");
    }

    @Override
    public Future<?> stop() {
      return pool.close();
    }

    private void getUser(RoutingContext ctx) {
      long id;
      try {
        id = Long.parseLong(ctx.pathParam("id"));
      } catch (NumberFormatException e) {
        id = -1;
      }
      if (id <= 0) {
        json(ctx, 400, error("bad_request", "the id must be a positive integer"));
        return;
      }
      long userId = id;
      Future<RowSet<Row>> rows = config.latencyEnabled()
        ? pool.withConnection(conn -> conn.preparedQuery(PeerConfig.INJECTED_LATENCY)
          .execute(Tuple.of(config.nextLatencySeconds())).compose(v -> select(conn, userId)))
        : select(pool, userId);
      rows.onComplete(ar -> {
        if (ar.failed()) {
          log.warn("GET /users/{} failed: {}", userId, ar.cause().getMessage());
          json(ctx, 500, error("internal", "internal error"));
        } else if (ar.result().size() == 0) {
          json(ctx, 404, error("not_found", "no user " + userId));
        } else {
          Row row = ar.result().iterator().next();
          json(ctx, 200, new JsonObject().put("id", row.getLong("id")).put("name", row.getString("name"))
            .put("email", row.getString("email")));
        }
      });
    }

    private void putSettings(RoutingContext ctx) {
      long id;
      try {
        id = Long.parseLong(ctx.pathParam("id"));
      } catch (NumberFormatException e) {
        id = -1;
      }
      if (id <= 0) {
        json(ctx, 400, error("bad_request", "the id must be a positive integer"));
        return;
      }
      JsonObject settings;
      try {
        settings = ctx.body().asJsonObject();
      } catch (RuntimeException e) {
        settings = null;
      }
      if (settings == null) {
        json(ctx, 400, error("bad_request", "body must be a JSON object"));
        return;
      }
      long userId = id;
      JsonObject stored = settings;
      pool.preparedQuery(PeerConfig.UPSERT_SETTINGS)
        .execute(Tuple.of(userId, stored.encode(), LocalDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MILLIS)))
        .timeout(PeerConfig.WRITE_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .onComplete(ar -> {
          if (ar.succeeded()) {
            json(ctx, 200, new JsonObject().put("userId", userId).put("settings", stored));
          } else if (ar.cause() instanceof TimeoutException) {
            json(ctx, 504, error("db_timeout", "the write had no outcome within " + PeerConfig.WRITE_TIMEOUT_MS
              + " ms"));
          } else if (ar.cause() instanceof MySQLException e && e.getErrorCode() == PeerConfig.FOREIGN_KEY_ERROR) {
            json(ctx, 404, error("not_found", "no user " + userId));
          } else {
            log.warn("PUT /users/{}/settings failed: {}", userId, ar.cause().getMessage());
            json(ctx, 500, error("internal", "internal error"));
          }
        });
    }

    private static Future<RowSet<Row>> select(SqlClient client, long id) {
      return client.preparedQuery(ProxyStatements.SELECT_USER).execute(Tuple.of(id));
    }

    private static JsonObject error(String code, String message) {
      return new JsonObject().put("error", code).put("message", message);
    }

    private static void json(RoutingContext ctx, int status, JsonObject body) {
      ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(body.toBuffer());
    }
  }
}

package io.sluice.api;

import io.sluice.config.Secrets;
import io.sluice.contract.Action;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.function.Supplier;

/**
 * {@code /admin/*} for ops, behind the admin bearer token: the proxy's pool and lanes, the effective config
 * (secrets redacted) with the reload counters, and this node's view of the cluster.
 */
final class AdminRoutes {

  private final Vertx vertx;
  private final AdminAuth admin;
  private final ProxyCaller proxy;
  private final HttpErrors errors;
  /** The verticle's deployment config, shown redacted when the config watcher does not answer. */
  private final Supplier<JsonObject> deploymentConfig;

  AdminRoutes(Vertx vertx, AdminAuth admin, ProxyCaller proxy, HttpErrors errors,
              Supplier<JsonObject> deploymentConfig) {
    this.vertx = vertx;
    this.admin = admin;
    this.proxy = proxy;
    this.errors = errors;
    this.deploymentConfig = deploymentConfig;
  }

  /** Registers the admin routes, when an admin token is configured (without one there is no admin API). */
  void register(Router router) {
    if (!admin.enabled()) {
      return;
    }
    router.get("/admin/*").handler(this::authorize);
    router.get("/admin/pool").handler(this::pool);
    router.get("/admin/config").handler(this::config);
    router.get("/admin/cluster").handler(this::cluster);
  }

  private void authorize(RoutingContext ctx) {
    if (admin.allows(ctx.request().getHeader(HttpHeaders.AUTHORIZATION))) {
      ctx.next();
    } else {
      ctx.response().putHeader("WWW-Authenticate", "Bearer");
      errors.error(ctx, new ApiError(401, ApiError.UNAUTHORIZED, "a valid admin bearer token is required"));
    }
  }

  /**
   * The proxy's pool as ops need it: settings, occupancy, totals, rejections by reason, server capacity, and its
   * lanes ({@code lanes}: per action, the adaptive limit, load, p90 and refusals). The pool's fields stay at the top
   * level, as before lanes existed; a proxy that reports no lanes gives {@code lanes: {}}.
   */
  private void pool(RoutingContext ctx) {
    proxy.call(ctx, Action.STATS, new JsonObject()).onComplete(ar -> {
      if (ar.failed()) {
        errors.error(ctx, errors.of(ar.cause(), false));
      } else {
        JsonObject stats = ar.result().body();
        JsonObject lanes = stats.getJsonObject("lanes", new JsonObject());
        HttpErrors.json(ctx, 200, stats.getJsonObject("pool").copy().put("lanes", lanes));
      }
    });
  }

  /** The effective config with secrets redacted, and the reload counters. */
  private void config(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(ProxyContract.CONFIG_STATUS_ADDRESS, new JsonObject(),
        new DeliveryOptions().setSendTimeout(2000).setLocalOnly(true))
      .onComplete(ar -> HttpErrors.json(ctx, 200, ar.succeeded()
        ? ar.result().body()
        : new JsonObject().put("config", Secrets.redact(deploymentConfig.get())).put("reloads", (Object) null)));
  }

  /** This node's view of the cluster (members oldest first, roles, shares), from the launcher; 404 unclustered. */
  private void cluster(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(ProxyContract.CLUSTER_STATUS_ADDRESS, new JsonObject(),
        new DeliveryOptions().setSendTimeout(2000).setLocalOnly(true))
      .onComplete(ar -> {
        if (ar.succeeded()) {
          HttpErrors.json(ctx, 200, ar.result().body());
        } else if (ar.cause() instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS) {
          errors.error(ctx, new ApiError(404, ApiError.NOT_FOUND, "this process is not clustered (cluster.enabled"
            + " false)"));
        } else {
          errors.error(ctx, new ApiError(500, ApiError.INTERNAL, "internal error"));
        }
      });
  }
}

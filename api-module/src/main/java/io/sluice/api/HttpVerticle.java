package io.sluice.api;

import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.contract.LocalProxy;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The thin HTTP tier: the server, its lifecycle and the router. Each request gets its id and deadline here, then
 * goes to the API routes ({@link ApiRoutes}), which forward it to the database proxy ({@link ProxyCaller}: over the
 * event bus, or in-process when this process runs its own unclustered proxy), to the admin routes
 * ({@link AdminRoutes}), or to health, OpenAPI and metrics. It never opens a database connection: the proxy
 * validates the fields themselves and owns the pool.
 *
 * <p>Every error body is {@code {"error": code, "message": text}} ({@link HttpErrors}); never a stack trace, never
 * SQL.
 *
 * <p>{@code openapi.yaml} (a resource of this module, served at {@code GET /openapi.yaml}) describes every route; the
 * tests hold every response they receive to it, and the routes of {@link #endpoints()} to its operations.
 */
public class HttpVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(HttpVerticle.class);

  /** Request bodies above this get 413 before they are read whole. */
  public static final int MAX_BODY_BYTES = 16 * 1024;
  public static final String REQUEST_ID_HEADER = "X-Request-Id";
  public static final String CACHE_HEADER = "X-Cache";
  /** Client-chosen deadline in ms, capped at {@code http.maxRequestTimeoutMs}. */
  public static final String REQUEST_TIMEOUT_HEADER = "X-Request-Timeout";
  /** Client-chosen idempotency key on {@code POST /users} and {@code POST /users/{id}/notifications}. */
  public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
  /** {@code true} on the stored response of an earlier request with the same Idempotency-Key. */
  public static final String IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed";
  /**
   * Deployment config field set by the launcher, not a config key: {@code {"api": bool, "proxy": bool}}, the tiers
   * this process runs ({@code cluster.role}). Absent: both. Without {@code api} the API routes answer 404 (a proxy
   * node serves only {@code /health/*}, {@code /metrics} and {@code /admin/*}); with {@code proxy} readiness and
   * {@code /admin/pool} ask this process's own proxy (local-only sends), not whichever node a cluster picks.
   */
  public static final String NODE_KEY = "node";
  public static final String NODE_API = "api";
  public static final String NODE_PROXY = "proxy";
  /** The OpenAPI document of this API: a classpath resource of this module, served at {@code GET /openapi.yaml}. */
  public static final String OPENAPI_RESOURCE = "openapi.yaml";

  private static final Pattern TIMEOUT = Pattern.compile("[0-9]{1,9}");

  private volatile HttpSettings settings;
  private HttpServer server;
  private AdminAuth admin;
  private AuthSettings.Jwt auth;
  /** End-user access control ({@code auth.jwt}); null when it is off, and then no handler is installed. */
  private JWTAuth verifier;
  /** Read once at start (off the event loop); every {@code GET /openapi.yaml} sends this buffer. */
  private Buffer openApi;
  /** Kept for {@link #endpoints()}. */
  private Router routes;
  private ReadDeadlines readDeadlines;
  private HttpErrors errors;
  private ProxyCaller proxy;
  private boolean apiRoutes = true;
  private boolean localProxy = true;
  private final boolean sharedRandomPort;
  private final LocalProxy inProcess;

  public HttpVerticle() {
    this(false, null);
  }

  /**
   * @param sharedRandomPort when {@code http.port} is 0, listen on one random port shared by every instance deployed
   *                         with this flag: Vert.x shares a server among instances with the same positive port, or
   *                         the same negative one (a random port, chosen once); port 0 gives each its own port
   * @param inProcess        this process's own proxy, called without the event bus (a process running both tiers,
   *                         unclustered); null: every request goes over the event bus
   */
  public HttpVerticle(boolean sharedRandomPort, LocalProxy inProcess) {
    this.sharedRandomPort = sharedRandomPort;
    this.inProcess = inProcess;
  }

  @Override
  public Future<?> start() {
    try {
      settings = HttpSettings.from(config().getJsonObject("http"));
      admin = new AdminAuth(AdminSettings.from(config().getJsonObject("admin")).token());
      auth = AuthSettings.from(config().getJsonObject("auth")).jwt();
      JsonObject node = config().getJsonObject(NODE_KEY, new JsonObject());
      apiRoutes = node.getBoolean(NODE_API, true);
      localProxy = node.getBoolean(NODE_PROXY, true);
    } catch (RuntimeException e) {
      log.error("HTTP server not started: invalid config: {}", e.getMessage());
      return Future.failedFuture(e);
    }
    // Live config reloads: the live keys of HttpSettings.SCHEMA apply to the next request.
    // A local consumer: on a clustered event bus no other node may reconfigure this one.
    vertx.eventBus().<JsonObject>localConsumer(ProxyContract.CONFIG_CHANGED_ADDRESS,
      message -> applyReload(message.body()));
    // A proxy node serves no API, so it needs no verifier. The public key is read here, off the event loop.
    boolean guarded = apiRoutes && auth.enabled();
    return vertx.executeBlocking(() -> new Resources(readOpenApi(), guarded ? AccessControl.verifier(vertx, auth)
        : null))
      .onFailure(err -> log.error("HTTP server not started: {}", err.getMessage()))
      .compose(resources -> {
        openApi = resources.openApi();
        verifier = resources.verifier();
        readDeadlines = new ReadDeadlines(vertx, settings);
        errors = new HttpErrors(() -> settings);
        proxy = new ProxyCaller(vertx, inProcess, localProxy);
        routes = router();
        return listen();
      });
  }

  /** What the start reads off the event loop: the OpenAPI document, and the token verifier (null: auth off). */
  private record Resources(Buffer openApi, JWTAuth verifier) {
  }

  private Future<HttpServer> listen() {
    io.vertx.core.http.HttpServerOptions options = settings.toServerOptions();
    if (sharedRandomPort && options.getPort() == 0) {
      options.setPort(-1);
    }
    return vertx.createHttpServer(options)
      .connectionHandler(readDeadlines::connected)
      .invalidRequestHandler(request -> errors.invalidRequest(request))
      .requestHandler(routes)
      .listen()
      .onSuccess(s -> {
        server = s;
        log.info("HTTP API listening on {}:{} (request deadline {} ms, client may ask up to {} ms; access control {})",
          settings.host(), s.actualPort(), settings.requestTimeoutMs(), settings.maxRequestTimeoutMs(),
          verifier == null ? "off" : "bearer JWT");
      })
      .onFailure(err -> log.error("HTTP server could not listen on {}:{}: {}", settings.host(), settings.port(),
        err.getMessage()));
  }

  /** The port actually bound (useful with port 0). */
  public int actualPort() {
    return server.actualPort();
  }

  /**
   * Every endpoint the router serves once started, as method and OpenAPI path template ({@code "GET /users/{id}"}),
   * so that a test can hold the router and {@code openapi.yaml} to each other. Handlers that only guard a prefix
   * ({@code /admin/*}) and the router-wide handlers are not endpoints.
   */
  public Set<String> endpoints() {
    Set<String> endpoints = new TreeSet<>();
    for (Route route : routes.getRoutes()) {
      if (route.getPath() != null && route.isExactPath()) {
        String template = route.getPath().replaceAll(":([A-Za-z0-9_]+)", "{$1}");
        route.methods().forEach(method -> endpoints.add(method.name() + " " + template));
      }
    }
    return endpoints;
  }

  private static Buffer readOpenApi() throws IOException {
    try (InputStream in = HttpVerticle.class.getClassLoader().getResourceAsStream(OPENAPI_RESOURCE)) {
      if (in == null) {
        throw new IOException(OPENAPI_RESOURCE + " is missing from the classpath");
      }
      return Buffer.buffer(in.readAllBytes());
    }
  }

  /** The longest deadline a client may ask for now (reloads change it), which bounds the drain in {@link #stop()}. */
  public long maxRequestTimeoutMs() {
    return settings.maxRequestTimeoutMs();
  }

  private Router router() {
    Router router = Router.router(vertx);
    router.route().handler(readDeadlines::requestStarted);
    router.route().handler(this::requestId);
    router.route().handler(this::queryString);
    router.route().handler(this::deadline);
    // Per write route, not router-wide: a method-wide route would turn every unknown path into a 405. Form
    // attributes are not merged into the params: the API takes JSON only, and the merge decodes the query string
    // inside the body's end handler, where a malformed one (%zz) threw and left the request unanswered.
    BodyHandler body = BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES).setMergeFormAttributes(false);

    if (!apiRoutes) {
      // Ahead of the API routes, which it answers instead of them: a proxy node serves no API.
      router.route("/users*").handler(ctx -> errors.error(ctx, new ApiError(404, ApiError.NOT_FOUND, "this is a proxy"
        + " node (cluster.role proxy): the API is served by the API nodes")));
      router.route("/openapi.yaml").handler(ctx -> errors.error(ctx, new ApiError(404, ApiError.NOT_FOUND, "this is a"
        + " proxy node (cluster.role proxy): the API is served by the API nodes")));
    }
    // Ahead of the API routes and their body handler: a refused request is answered before anything is read or sent.
    AccessControl.register(router, verifier, auth, errors);
    new ApiRoutes(proxy, errors).register(router, body);
    router.get("/health/live").handler(ctx -> HttpErrors.json(ctx, 200, new JsonObject().put("status", "UP")));
    router.get("/health/ready").handler(this::ready);
    router.get("/openapi.yaml").handler(ctx -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
      .end(openApi));
    new AdminRoutes(vertx, admin, proxy, errors, this::config).register(router);
    if (vertx.isMetricsEnabled()) {
      // Prometheus text exposition of Vert.x's metrics (pool, HTTP, event bus, JVM) and the proxy's own.
      router.get("/metrics").handler(PrometheusScrapingHandler.create());
    }
    errors.register(router, MAX_BODY_BYTES);
    return router;
  }

  /**
   * A query string that does not decode ({@code ?%zz}) is a 400 here, once, rather than an exception wherever a
   * handler reads a parameter later.
   */
  private void queryString(RoutingContext ctx) {
    if (ctx.request().query() != null) {
      try {
        ctx.queryParams();
      } catch (RuntimeException e) {
        // vertx-web wraps the decoder's IllegalArgumentException in an HttpException(400).
        errors.error(ctx, ApiError.badRequest("malformed query string: "
          + HttpErrors.abbreviate(ctx.request().query())));
        return;
      }
    }
    ctx.next();
  }

  private void requestId(RoutingContext ctx) {
    String given = ctx.request().getHeader(REQUEST_ID_HEADER);
    String id = isRequestId(given) ? given : newRequestId();
    ctx.put(ProxyCaller.REQUEST_ID_KEY, id);
    ctx.response().putHeader(REQUEST_ID_HEADER, id);
    ctx.next();
  }

  /**
   * Starts the request's clock: every later step (the event-bus send, the wait for a connection, the statement)
   * spends the same budget.
   */
  private void deadline(RoutingContext ctx) {
    long budgetMs = settings.requestTimeoutMs();
    String asked = ctx.request().getHeader(REQUEST_TIMEOUT_HEADER);
    if (asked != null) {
      if (!TIMEOUT.matcher(asked.trim()).matches() || Long.parseLong(asked.trim()) == 0) {
        errors.error(ctx, ApiError.badRequest(REQUEST_TIMEOUT_HEADER
          + " must be a positive integer number of milliseconds"));
        return;
      }
      budgetMs = Math.min(Long.parseLong(asked.trim()), settings.maxRequestTimeoutMs());
    }
    ctx.put(ProxyCaller.DEADLINE_KEY, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(budgetMs));
    ctx.next();
  }

  private void applyReload(JsonObject change) {
    JsonObject http = change.getJsonObject("config", new JsonObject()).getJsonObject("http");
    try {
      // Host, port and the server's limits are bound: they change with a restart only.
      settings = settings.reloaded(http);
    } catch (RuntimeException e) {
      log.warn("Ignored the reloaded http section: {}", e.getMessage());
    }
  }

  /**
   * A random v4-style UUID from {@link ThreadLocalRandom}: a correlation id needs uniqueness, not unpredictability,
   * and {@link UUID#randomUUID()} would take SecureRandom's lock on every request.
   */
  private static String newRequestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(high, low).toString();
  }

  /**
   * Ready while a proxy is registered and the database answers its health check, which runs outside the request
   * pool: a saturated pool is load, not an outage, and must not take every replica out of a load balancer at once.
   */
  private void ready(RoutingContext ctx) {
    proxy.call(ctx, Action.READY, new JsonObject()).onComplete(ar -> {
      if (ar.succeeded()) {
        HttpErrors.json(ctx, 200, new JsonObject().put("status", "UP").put(Fields.DATABASE, "up"));
      } else {
        ApiError cause = errors.of(ar.cause(), false);
        errors.error(ctx, new ApiError(503, ApiError.UNAVAILABLE, "not ready: " + cause.message()));
      }
    });
  }

  /**
   * {@code [1-9][0-9]{0,17}}: a positive decimal that fits a long. Checked by hand, not with a regex: it runs on
   * every request with an id (as does {@link #isRequestId}).
   */
  static boolean isId(String raw) {
    if (raw == null || raw.isEmpty() || raw.length() > 18 || raw.charAt(0) == '0') {
      return false;
    }
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  /** {@code [A-Za-z0-9._:-]{1,64}}: a client's X-Request-Id that may be echoed and logged as given. */
  static boolean isRequestId(String raw) {
    return ProxyContract.isRequestId(raw);
  }

  /** Stops accepting connections and lets requests in flight finish, up to the longest deadline a client may ask. */
  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture()
      : server.shutdown(settings.maxRequestTimeoutMs(), TimeUnit.MILLISECONDS);
  }
}

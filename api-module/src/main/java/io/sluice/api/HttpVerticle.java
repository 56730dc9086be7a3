package io.sluice.api;

import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.sluice.config.Secrets;
import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The thin HTTP tier. It validates what is HTTP-shaped (path ids, query parameters, JSON bodies), forwards each
 * request as one event-bus request to the database proxy with a send timeout, and maps the reply to HTTP. It never
 * opens a database connection: the proxy validates the fields themselves and owns the pool.
 *
 * <p>Every error body is {@code {"error": code, "message": text}}; never a stack trace, never SQL.
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

  private static final String JSON = "application/json";
  private static final String REQUEST_ID_KEY = "requestId";
  private static final String DEADLINE_KEY = "deadlineNanos";
  private static final String IDEMPOTENCY_KEY = "idempotencyKey";
  private static final Pattern IDEMPOTENCY_KEY_PATTERN = Pattern.compile(ProxyContract.IDEMPOTENCY_KEY_PATTERN);
  /** Actions that change data: when the proxy does not answer one in time, its outcome is unknown. */
  private static final Set<String> WRITES = Set.of(Action.CREATE_USER, Action.PUT_SETTINGS,
    Action.CREATE_NOTIFICATION, Action.MARK_NOTIFICATION_READ);
  /**
   * Time kept back from the proxy's budget for its reply to travel back: 10 % of it, from 10 to 50 ms. The proxy
   * answers every write by its own deadline (committed, rolled back, or outcome unknown), so within this margin this
   * side has the proxy's final answer; giving up without it is "outcome unknown" for a write.
   */
  private static final long MIN_REPLY_MARGIN_MS = 10;
  private static final long MAX_REPLY_MARGIN_MS = 50;
  private static final Pattern TIMEOUT = Pattern.compile("[0-9]{1,9}");

  private volatile HttpSettings settings;
  private HttpServer server;
  private AdminAuth admin;
  /** Read once at start (off the event loop); every {@code GET /openapi.yaml} sends this buffer. */
  private Buffer openApi;
  /** Kept for {@link #endpoints()}. */
  private Router routes;
  private ReadDeadlines readDeadlines;
  private boolean apiRoutes = true;
  private boolean localProxy = true;
  private final boolean sharedRandomPort;

  public HttpVerticle() {
    this(false);
  }

  /**
   * @param sharedRandomPort when {@code http.port} is 0, listen on one random port shared by every instance deployed
   *                         with this flag: Vert.x shares a server among instances with the same positive port, or
   *                         the same negative one (a random port, chosen once); port 0 gives each its own port
   */
  public HttpVerticle(boolean sharedRandomPort) {
    this.sharedRandomPort = sharedRandomPort;
  }

  @Override
  public Future<?> start() {
    try {
      settings = HttpSettings.from(config().getJsonObject("http"));
      admin = new AdminAuth(AdminSettings.from(config().getJsonObject("admin")).token());
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
    return vertx.executeBlocking(HttpVerticle::readOpenApi)
      .onFailure(err -> log.error("HTTP server not started: {}", err.getMessage()))
      .compose(document -> {
        openApi = document;
        readDeadlines = new ReadDeadlines(vertx, settings);
        routes = router();
        return listen();
      });
  }

  private Future<HttpServer> listen() {
    io.vertx.core.http.HttpServerOptions options = settings.toServerOptions();
    if (sharedRandomPort && options.getPort() == 0) {
      options.setPort(-1);
    }
    return vertx.createHttpServer(options)
      .connectionHandler(readDeadlines::connected)
      .invalidRequestHandler(this::invalidRequest)
      .requestHandler(routes)
      .listen()
      .onSuccess(s -> {
        server = s;
        log.info("HTTP API listening on {}:{} (request deadline {} ms, client may ask up to {} ms)", settings.host(),
          s.actualPort(), settings.requestTimeoutMs(), settings.maxRequestTimeoutMs());
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
      router.route("/users*").handler(ctx -> error(ctx, new ApiError(404, ApiError.NOT_FOUND, "this is a proxy node"
        + " (cluster.role proxy): the API is served by the API nodes")));
      router.route("/openapi.yaml").handler(ctx -> error(ctx, new ApiError(404, ApiError.NOT_FOUND, "this is a proxy"
        + " node (cluster.role proxy): the API is served by the API nodes")));
    }
    router.post("/users").handler(body).handler(this::createUser);
    router.get("/users/:id").handler(this::getUser);
    router.get("/users/:id/settings").handler(this::getSettings);
    router.put("/users/:id/settings").handler(body).handler(this::putSettings);
    router.get("/users/:id/notifications").handler(this::listNotifications);
    router.post("/users/:id/notifications").handler(body).handler(this::createNotification);
    router.post("/users/:id/notifications/:nid/read").handler(body).handler(this::markRead);
    router.get("/health/live").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
    router.get("/health/ready").handler(this::ready);
    router.get("/openapi.yaml").handler(ctx -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
      .end(openApi));
    if (admin.enabled()) {
      router.get("/admin/*").handler(this::authorize);
      router.get("/admin/pool").handler(this::adminPool);
      router.get("/admin/config").handler(this::adminConfig);
      router.get("/admin/cluster").handler(this::adminCluster);
    }
    if (vertx.isMetricsEnabled()) {
      // Prometheus text exposition of Vert.x's metrics (pool, HTTP, event bus, JVM) and the proxy's own.
      router.get("/metrics").handler(PrometheusScrapingHandler.create());
    }

    router.errorHandler(400, ctx -> error(ctx, ApiError.badRequest("malformed request")));
    router.errorHandler(404, ctx -> error(ctx, new ApiError(404, ApiError.NOT_FOUND, "no such resource: "
      + ctx.request().method() + " " + ctx.request().path())));
    router.errorHandler(405, ctx -> error(ctx, new ApiError(405, ApiError.METHOD_NOT_ALLOWED,
      ctx.request().method() + " is not allowed on " + ctx.request().path())));
    router.errorHandler(417, ctx -> error(ctx, new ApiError(417, ApiError.EXPECTATION_FAILED,
      "only Expect: 100-continue is supported")));
    router.errorHandler(413, ctx -> error(ctx, new ApiError(413, ApiError.PAYLOAD_TOO_LARGE,
      "request body is larger than " + MAX_BODY_BYTES + " bytes")));
    router.errorHandler(500, ctx -> {
      log.error("{} {} failed request_id={}", ctx.request().method(), ctx.request().path(), ctx.get(REQUEST_ID_KEY),
        ctx.failure());
      error(ctx, new ApiError(500, ApiError.INTERNAL, "internal error"));
    });
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
        error(ctx, ApiError.badRequest("malformed query string: " + abbreviate(ctx.request().query())));
        return;
      }
    }
    ctx.next();
  }

  /**
   * What the HTTP decoder refused before any route saw it: a request line longer than
   * {@code http.maxInitialLineLength} (414), headers over {@code http.maxHeaderSize} (431), anything else that is
   * not HTTP (400). The JSON error body like every other error, then the connection is closed: the decoder cannot
   * tell where the next request would begin.
   */
  private void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    ApiError error;
    if (cause instanceof TooLongHttpLineException) {
      error = new ApiError(414, ApiError.URI_TOO_LONG,
        "the request line is longer than " + settings.maxInitialLineLength() + " bytes");
    } else if (cause instanceof TooLongHttpHeaderException) {
      error = new ApiError(431, ApiError.HEADERS_TOO_LARGE,
        "the request headers are larger than " + settings.maxHeaderSize() + " bytes");
    } else {
      error = ApiError.badRequest("malformed HTTP request");
    }
    request.response().setStatusCode(error.status()).putHeader(HttpHeaders.CONTENT_TYPE, JSON)
      .putHeader(HttpHeaders.CONNECTION, "close").end(error.toJson().toBuffer())
      .onComplete(ar -> request.connection().close());
  }

  private void requestId(RoutingContext ctx) {
    String given = ctx.request().getHeader(REQUEST_ID_HEADER);
    String id = isRequestId(given) ? given : newRequestId();
    ctx.put(REQUEST_ID_KEY, id);
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
        error(ctx, ApiError.badRequest(REQUEST_TIMEOUT_HEADER + " must be a positive integer number of milliseconds"));
        return;
      }
      budgetMs = Math.min(Long.parseLong(asked.trim()), settings.maxRequestTimeoutMs());
    }
    ctx.put(DEADLINE_KEY, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(budgetMs));
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

  private void authorize(RoutingContext ctx) {
    if (admin.allows(ctx.request().getHeader(HttpHeaders.AUTHORIZATION))) {
      ctx.next();
    } else {
      ctx.response().putHeader("WWW-Authenticate", "Bearer");
      error(ctx, new ApiError(401, ApiError.UNAUTHORIZED, "a valid admin bearer token is required"));
    }
  }

  /**
   * The proxy's pool as ops need it: settings, occupancy, totals, rejections by reason, server capacity, and its
   * lanes ({@code lanes}: per action, the adaptive limit, load, p90 and refusals). The pool's fields stay at the top
   * level, as before lanes existed; a proxy that reports no lanes gives {@code lanes: {}}.
   */
  private void adminPool(RoutingContext ctx) {
    request(ctx, Action.STATS, new JsonObject()).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, ApiError.of(ar.cause(), settings));
      } else {
        JsonObject stats = ar.result().body();
        JsonObject lanes = stats.getJsonObject("lanes", new JsonObject());
        json(ctx, 200, stats.getJsonObject("pool").copy().put("lanes", lanes));
      }
    });
  }

  /** The effective config with secrets redacted, and the reload counters. */
  private void adminConfig(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(ProxyContract.CONFIG_STATUS_ADDRESS, new JsonObject(),
        new DeliveryOptions().setSendTimeout(2000).setLocalOnly(true))
      .onComplete(ar -> json(ctx, 200, ar.succeeded()
        ? ar.result().body()
        : new JsonObject().put("config", Secrets.redact(config())).put("reloads", (Object) null)));
  }

  /** This node's view of the cluster (members oldest first, roles, shares), from the launcher; 404 unclustered. */
  private void adminCluster(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(ProxyContract.CLUSTER_STATUS_ADDRESS, new JsonObject(),
        new DeliveryOptions().setSendTimeout(2000).setLocalOnly(true))
      .onComplete(ar -> {
        if (ar.succeeded()) {
          json(ctx, 200, ar.result().body());
        } else if (ar.cause() instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS) {
          error(ctx, new ApiError(404, ApiError.NOT_FOUND, "this process is not clustered (cluster.enabled false)"));
        } else {
          error(ctx, new ApiError(500, ApiError.INTERNAL, "internal error"));
        }
      });
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

  private void createUser(RoutingContext ctx) {
    JsonObject body = idempotencyKey(ctx) ? jsonBody(ctx) : null;
    if (body != null) {
      forward(ctx, Action.CREATE_USER, pick(body, Fields.NAME, Fields.EMAIL), 201);
    }
  }

  private void getUser(RoutingContext ctx) {
    Long id = pathId(ctx, "id");
    if (id != null) {
      forward(ctx, Action.GET_USER, new JsonObject().put(Fields.USER_ID, id), 200);
    }
  }

  private void getSettings(RoutingContext ctx) {
    Long id = pathId(ctx, "id");
    if (id != null) {
      forward(ctx, Action.GET_SETTINGS, new JsonObject().put(Fields.USER_ID, id), 200);
    }
  }

  private void putSettings(RoutingContext ctx) {
    Long id = pathId(ctx, "id");
    JsonObject settings = id == null ? null : jsonBody(ctx);
    if (settings != null) {
      forward(ctx, Action.PUT_SETTINGS, new JsonObject().put(Fields.USER_ID, id).put(Fields.SETTINGS, settings), 200);
    }
  }

  private void listNotifications(RoutingContext ctx) {
    Long id = pathId(ctx, "id");
    if (id == null) {
      return;
    }
    MultiMap params = ctx.queryParams();
    JsonObject request = new JsonObject().put(Fields.USER_ID, id);
    List<String> unreadOnly = params.getAll(Fields.UNREAD_ONLY);
    List<String> limit = params.getAll(Fields.LIMIT);
    if (unreadOnly.size() > 1 || limit.size() > 1) {
      error(ctx, ApiError.badRequest("unreadOnly and limit may each be given once"));
      return;
    }
    if (!unreadOnly.isEmpty()) {
      String value = unreadOnly.get(0);
      if (!value.equals("true") && !value.equals("false")) {
        error(ctx, ApiError.badRequest("unreadOnly must be true or false"));
        return;
      }
      request.put(Fields.UNREAD_ONLY, Boolean.parseBoolean(value));
    }
    if (!limit.isEmpty()) {
      String value = limit.get(0);
      if (!value.matches("[0-9]{1,3}")) {
        error(ctx, ApiError.badRequest("limit must be an integer from 1 to " + Fields.MAX_LIMIT));
        return;
      }
      request.put(Fields.LIMIT, Integer.parseInt(value));
    }
    forward(ctx, Action.LIST_NOTIFICATIONS, request, 200);
  }

  private void createNotification(RoutingContext ctx) {
    Long id = pathId(ctx, "id");
    JsonObject body = id == null || !idempotencyKey(ctx) ? null : jsonBody(ctx);
    if (body != null) {
      forward(ctx, Action.CREATE_NOTIFICATION, pick(body, Fields.TITLE, Fields.BODY).put(Fields.USER_ID, id), 201);
    }
  }

  private void markRead(RoutingContext ctx) {
    Long id = pathId(ctx, "id");
    Long nid = id == null ? null : pathId(ctx, "nid");
    if (nid != null) {
      forward(ctx, Action.MARK_NOTIFICATION_READ,
        new JsonObject().put(Fields.USER_ID, id).put(Fields.NOTIFICATION_ID, nid), 204);
    }
  }

  /**
   * Ready while a proxy is registered and the database answers its health check, which runs outside the request
   * pool: a saturated pool is load, not an outage, and must not take every replica out of a load balancer at once.
   */
  private void ready(RoutingContext ctx) {
    request(ctx, Action.READY, new JsonObject()).onComplete(ar -> {
      if (ar.succeeded()) {
        json(ctx, 200, new JsonObject().put("status", "UP").put(Fields.DATABASE, "up"));
      } else {
        ApiError cause = ApiError.of(ar.cause(), settings);
        error(ctx, new ApiError(503, ApiError.UNAVAILABLE, "not ready: " + cause.message()));
      }
    });
  }

  private Future<Message<JsonObject>> request(RoutingContext ctx, String action, JsonObject body) {
    long remainingMs = TimeUnit.NANOSECONDS.toMillis(ctx.<Long>get(DEADLINE_KEY) - System.nanoTime());
    // The proxy gets a little less than what is left here, so that its answer (a commit or a 504 with the write
    // rolled back) arrives before this side gives up: a 504 from the proxy means "nothing written".
    long proxyBudgetMs = remainingMs - Math.max(MIN_REPLY_MARGIN_MS, Math.min(MAX_REPLY_MARGIN_MS, remainingMs / 10));
    if (proxyBudgetMs <= 0) {
      return Future.failedFuture(new ApiError.Failure(new ApiError(504, ApiError.DB_TIMEOUT,
        "the request's deadline passed before it reached the database")));
    }
    // Both forms of the deadline: the absolute one survives the time the message spends queued on its way.
    DeliveryOptions options = new DeliveryOptions()
      .setSendTimeout(remainingMs)
      .addHeader(ProxyContract.TIMEOUT_HEADER, Long.toString(proxyBudgetMs))
      .addHeader(ProxyContract.DEADLINE_HEADER, Long.toString(System.currentTimeMillis() + proxyBudgetMs))
      .addHeader(ProxyContract.ACTION_HEADER, action)
      .addHeader(ProxyContract.REQUEST_ID_HEADER, ctx.get(REQUEST_ID_KEY))
      // Readiness and pool stats describe this node's own proxy when it runs one.
      .setLocalOnly(localProxy && (action.equals(Action.READY) || action.equals(Action.STATS)));
    String key = ctx.get(IDEMPOTENCY_KEY);
    if (key != null) {
      options.addHeader(ProxyContract.IDEMPOTENCY_KEY_HEADER, key);
    }
    return vertx.eventBus().request(ProxyContract.ADDRESS, body, options);
  }

  private void forward(RoutingContext ctx, String action, JsonObject body, int successStatus) {
    request(ctx, action, body).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, ApiError.of(ar.cause(), settings, WRITES.contains(action)));
        return;
      }
      copyCacheHeaders(ar.result(), ctx);
      if ("true".equals(ar.result().headers().get(ProxyContract.IDEMPOTENT_REPLAYED_HEADER))) {
        ctx.response().putHeader(IDEMPOTENT_REPLAYED_HEADER, "true");
      }
      if (successStatus == 204) {
        ctx.response().setStatusCode(204).end();
      } else {
        json(ctx, successStatus, ar.result().body());
      }
    });
  }

  /** The proxy says where a read came from; HTTP clients see it as X-Cache (HIT, MISS, STALE) and Age. */
  private static void copyCacheHeaders(Message<JsonObject> reply, RoutingContext ctx) {
    String cache = reply.headers().get(ProxyContract.CACHE_HEADER);
    if (cache != null) {
      ctx.response().putHeader(CACHE_HEADER, cache);
    }
    String age = reply.headers().get(ProxyContract.AGE_HEADER);
    if (age != null) {
      ctx.response().putHeader(HttpHeaders.AGE, age);
    }
  }

  /**
   * Keeps the request's Idempotency-Key for the proxy; false after answering 400 when it is malformed (given more
   * than once, too long, or outside its charset).
   */
  private boolean idempotencyKey(RoutingContext ctx) {
    List<String> keys = ctx.request().headers().getAll(IDEMPOTENCY_KEY_HEADER);
    if (keys.isEmpty()) {
      return true;
    }
    if (keys.size() > 1 || !IDEMPOTENCY_KEY_PATTERN.matcher(keys.get(0)).matches()) {
      error(ctx, ApiError.badRequest(IDEMPOTENCY_KEY_HEADER + " must be given once, 1 to 255 of A-Z a-z 0-9 . _ : ~ + /"
        + " = -"));
      return false;
    }
    ctx.put(IDEMPOTENCY_KEY, keys.get(0));
    return true;
  }

  /** A positive integer path parameter, or null after answering 400. */
  private Long pathId(RoutingContext ctx, String name) {
    String raw = ctx.pathParam(name);
    if (isId(raw)) {
      return Long.parseLong(raw);
    }
    error(ctx, ApiError.badRequest(name + " must be a positive integer, got '" + abbreviate(raw) + "'"));
    return null;
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

  /** The body as a JSON object, or null after answering 400. */
  private JsonObject jsonBody(RoutingContext ctx) {
    Buffer buffer = ctx.body().buffer();
    if (buffer == null || buffer.length() == 0) {
      error(ctx, ApiError.badRequest("a JSON object body is required"));
      return null;
    }
    Object value;
    try {
      value = Json.decodeValue(buffer);
    } catch (DecodeException e) {
      error(ctx, ApiError.badRequest("body is not valid JSON"));
      return null;
    }
    if (value instanceof JsonObject object) {
      return object;
    }
    error(ctx, ApiError.badRequest("body must be a JSON object"));
    return null;
  }

  /** Only the named fields go to the proxy; anything else in the body is ignored. */
  private static JsonObject pick(JsonObject body, String... fields) {
    JsonObject picked = new JsonObject();
    for (String field : fields) {
      if (body.containsKey(field)) {
        picked.put(field, body.getValue(field));
      }
    }
    return picked;
  }

  private void error(RoutingContext ctx, ApiError error) {
    if (ctx.response().ended()) {
      return;
    }
    if (error.status() == 503 || ApiError.REQUEST_IN_PROGRESS.equals(error.code())) {
      long retryAfter = error.retryAfterSeconds() > 0 ? error.retryAfterSeconds() : settings.retryAfterSeconds();
      ctx.response().putHeader(HttpHeaders.RETRY_AFTER, Long.toString(retryAfter));
    }
    json(ctx, error.status(), error.toJson());
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(body.toBuffer());
  }

  private static String abbreviate(String raw) {
    if (raw == null) {
      return "";
    }
    return raw.length() > 24 ? raw.substring(0, 24) + "…" : raw;
  }

  /** Stops accepting connections and lets requests in flight finish, up to the longest deadline a client may ask. */
  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture()
      : server.shutdown(settings.maxRequestTimeoutMs(), TimeUnit.MILLISECONDS);
  }
}

package io.sluice.api;

import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The API's routes ({@code /users…}): each validates what is HTTP-shaped (path ids, query parameters, JSON bodies,
 * the Idempotency-Key), forwards one request to the proxy ({@link ProxyCaller}) and maps its reply to HTTP. The
 * proxy validates the fields themselves.
 */
final class ApiRoutes {

  private static final Pattern IDEMPOTENCY_KEY_PATTERN = Pattern.compile(ProxyContract.IDEMPOTENCY_KEY_PATTERN);

  private final ProxyCaller proxy;
  private final HttpErrors errors;

  ApiRoutes(ProxyCaller proxy, HttpErrors errors) {
    this.proxy = proxy;
    this.errors = errors;
  }

  /** @param body the body handler of the write routes (per route: a router-wide one would turn 404s into 405s) */
  void register(Router router, BodyHandler body) {
    router.post("/users").handler(body).handler(this::createUser);
    router.get("/users/:id").handler(this::getUser);
    router.get("/users/:id/settings").handler(this::getSettings);
    router.put("/users/:id/settings").handler(body).handler(this::putSettings);
    router.get("/users/:id/notifications").handler(this::listNotifications);
    router.post("/users/:id/notifications").handler(body).handler(this::createNotification);
    router.post("/users/:id/notifications/:nid/read").handler(body).handler(this::markRead);
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
      errors.error(ctx, ApiError.badRequest("unreadOnly and limit may each be given once"));
      return;
    }
    if (!unreadOnly.isEmpty()) {
      String value = unreadOnly.get(0);
      if (!value.equals("true") && !value.equals("false")) {
        errors.error(ctx, ApiError.badRequest("unreadOnly must be true or false"));
        return;
      }
      request.put(Fields.UNREAD_ONLY, Boolean.parseBoolean(value));
    }
    if (!limit.isEmpty()) {
      String value = limit.get(0);
      if (!value.matches("[0-9]{1,3}")) {
        errors.error(ctx, ApiError.badRequest("limit must be an integer from 1 to " + Fields.MAX_LIMIT));
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

  private void forward(RoutingContext ctx, String action, JsonObject body, int successStatus) {
    proxy.call(ctx, action, body).onComplete(ar -> {
      if (ar.failed()) {
        errors.error(ctx, errors.of(ar.cause(), Action.WRITES.contains(action)));
        return;
      }
      ProxyCaller.Answer answer = ar.result();
      // The proxy says where a read came from; HTTP clients see it as X-Cache (HIT, MISS, STALE) and Age.
      if (answer.cacheStatus() != null) {
        ctx.response().putHeader(HttpVerticle.CACHE_HEADER, answer.cacheStatus());
      }
      if (answer.age() != null) {
        ctx.response().putHeader(HttpHeaders.AGE, answer.age());
      }
      if (answer.replayed()) {
        ctx.response().putHeader(HttpVerticle.IDEMPOTENT_REPLAYED_HEADER, "true");
      }
      if (successStatus == 204) {
        ctx.response().setStatusCode(204).end();
      } else {
        HttpErrors.json(ctx, successStatus, answer.body());
      }
    });
  }

  /**
   * Keeps the request's Idempotency-Key for the proxy; false after answering 400 when it is malformed (given more
   * than once, too long, or outside its charset).
   */
  private boolean idempotencyKey(RoutingContext ctx) {
    List<String> keys = ctx.request().headers().getAll(HttpVerticle.IDEMPOTENCY_KEY_HEADER);
    if (keys.isEmpty()) {
      return true;
    }
    if (keys.size() > 1 || !IDEMPOTENCY_KEY_PATTERN.matcher(keys.get(0)).matches()) {
      errors.error(ctx, ApiError.badRequest(HttpVerticle.IDEMPOTENCY_KEY_HEADER + " must be given once, 1 to 255 of"
        + " A-Z a-z 0-9 . _ : ~ + / = -"));
      return false;
    }
    ctx.put(ProxyCaller.IDEMPOTENCY_KEY, keys.get(0));
    return true;
  }

  /** A positive integer path parameter, or null after answering 400. */
  private Long pathId(RoutingContext ctx, String name) {
    String raw = ctx.pathParam(name);
    if (HttpVerticle.isId(raw)) {
      return Long.parseLong(raw);
    }
    errors.error(ctx, ApiError.badRequest(name + " must be a positive integer, got '" + HttpErrors.abbreviate(raw)
      + "'"));
    return null;
  }

  /** The body as a JSON object, or null after answering 400. */
  private JsonObject jsonBody(RoutingContext ctx) {
    Buffer buffer = ctx.body().buffer();
    if (buffer == null || buffer.length() == 0) {
      errors.error(ctx, ApiError.badRequest("a JSON object body is required"));
      return null;
    }
    Object value;
    try {
      value = Json.decodeValue(buffer);
    } catch (DecodeException e) {
      errors.error(ctx, ApiError.badRequest("body is not valid JSON"));
      return null;
    }
    if (value instanceof JsonObject object) {
      return object;
    }
    errors.error(ctx, ApiError.badRequest("body must be a JSON object"));
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
}

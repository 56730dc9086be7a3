package io.sluice.testing;

import io.sluice.api.HttpVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.impl.ClientPhase;
import io.vertx.ext.web.client.impl.HttpContext;
import io.vertx.ext.web.client.impl.WebClientInternal;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.validation.ResponseParameter;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.SchemaValidationException;
import io.vertx.openapi.validation.ValidatableResponse;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Holds every HTTP response a test receives to {@code openapi.yaml}, the document {@code GET /openapi.yaml} serves:
 * the status must be documented for that operation, the documented headers must be there and match their schemas,
 * and the body must match the documented media type and schema (a response documented without a body must have
 * none). A response that does not match fails the request's future with an {@link AssertionError}, so the test's
 * {@code await()} (or {@code Future.all}) fails.
 *
 * <p>Hooked into a {@link WebClient} as an interceptor ({@link #validating}): one line where a test creates its
 * client, and nothing at the call sites. The interceptor API lives in the web client's {@code impl} package; it is
 * the one the client's own session and OAuth2 wrappers use.
 *
 * <p>What vertx-openapi 5.0.x cannot do, done here:
 * <ul>
 *   <li>It accepts only a few media types in a contract ({@code application/json}, {@code text/plain} exactly, …)
 *   and looks the response's {@code Content-Type} up verbatim. The contract it gets is a copy whose non-JSON media
 *   types are removed; for those ({@code /metrics}, {@code /openapi.yaml}) this class checks the media type (without
 *   parameters) and that a body is there.</li>
 *   <li>It looks documented response headers up by their spelling in the document, in a map whose keys it
 *   lower-cased: the headers handed to it are in a case-insensitive map.</li>
 *   <li>It reads a header value that is not a single word as JSON, and when that fails, as the JSON string of the
 *   value; a value with a double quote in it ({@code Bearer error="invalid_token"}) fails both. Such a value is
 *   handed over as a JSON string literal ({@link #quoted}).</li>
 *   <li>A request no path or method of the document matches is answered by the router's 404 or 405: the copy gets
 *   two extra operations, {@value #UNKNOWN_PATH} and {@value #UNKNOWN_METHOD}, whose responses are the document's
 *   {@code NotFound} and {@code MethodNotAllowed}.</li>
 * </ul>
 */
public final class OpenApiCheck {

  static final String UNKNOWN_PATH = "x-unknownPath";
  static final String UNKNOWN_METHOD = "x-unknownMethod";
  private static final String JSON = "application/json";

  private final JsonObject document;
  private final OpenAPIContract contract;
  private final ResponseValidator validator;

  private OpenApiCheck(Vertx vertx, JsonObject document, OpenAPIContract contract) {
    this.document = document;
    this.contract = contract;
    this.validator = ResponseValidator.create(vertx, contract);
  }

  /** Loads the document into a contract bound to {@code vertx}; call it from a test thread, not an event loop. */
  public static OpenApiCheck load(Vertx vertx) {
    JsonObject document = document();
    return new OpenApiCheck(vertx, document, OpenAPIContract.from(vertx, checkable(document)).await());
  }

  /** Makes {@code client} hold every response it receives to the document; returns the same client. */
  public static WebClient validating(Vertx vertx, WebClient client) {
    OpenApiCheck check = load(vertx);
    ((WebClientInternal) client).addInterceptor(ctx -> check.intercept(ctx));
    return client;
  }

  /** The document as the service serves it, from the classpath (api-module's resource). */
  public static JsonObject document() {
    try (InputStream in = HttpVerticle.class.getClassLoader().getResourceAsStream(HttpVerticle.OPENAPI_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(HttpVerticle.OPENAPI_RESOURCE + " is not on the classpath");
      }
      String yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      // The document quotes its example timestamps: YAML would read them as dates, which JSON does not have.
      Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
      @SuppressWarnings("unchecked")
      Map<String, Object> map = (Map<String, Object>) root;
      return new JsonObject(map);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every operation of the document as method and path template ({@code "GET /users/{id}"}). */
  public static Set<String> operations(JsonObject document) {
    Set<String> operations = new TreeSet<>();
    JsonObject paths = document.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      for (String key : paths.getJsonObject(path).fieldNames()) {
        if (isMethod(key)) {
          operations.add(key.toUpperCase(Locale.ROOT) + " " + path);
        }
      }
    }
    return operations;
  }

  private void intercept(HttpContext<?> ctx) {
    if (ctx.phase() != ClientPhase.DISPATCH_RESPONSE) {
      ctx.next();
      return;
    }
    HttpRequest<?> request = ctx.request();
    HttpResponse<?> response = ctx.response();
    check(request.method(), request.uri(), response).onComplete(ar -> {
      if (ar.succeeded()) {
        ctx.next();
      } else {
        ctx.fail(ar.cause());
      }
    });
  }

  /** Succeeds when {@code response}, the answer to {@code method uri}, matches the document. */
  public Future<Void> check(HttpMethod method, String uri, HttpResponse<?> response) {
    String path = uri.contains("?") ? uri.substring(0, uri.indexOf('?')) : uri;
    Operation operation = contract.findOperation(path, method);
    String operationId = operation != null ? operation.getOperationId()
      : contract.findPath(path) != null ? UNKNOWN_METHOD : UNKNOWN_PATH;
    String what = method.name() + " " + uri + " → " + response.statusCode() + " (operation " + operationId + ")";
    Buffer body = response.bodyAsBuffer();
    boolean hasBody = body != null && body.length() > 0;
    String contentType = response.getHeader("Content-Type");

    JsonObject documented = documentedResponse(operationId, response.statusCode());
    if (documented == null) {
      return fail(what, "the status is not documented for this operation", body);
    }
    JsonObject content = documented.getJsonObject("content", new JsonObject());
    if (content.isEmpty() && hasBody) {
      return fail(what, "documented without a body, but has one", body);
    }
    if (!content.isEmpty()) {
      if (!hasBody) {
        return fail(what, "documented with a body, but has none", body);
      }
      if (contentType == null || content.fieldNames().stream().noneMatch(type -> sameMediaType(type, contentType))) {
        return fail(what, "Content-Type " + contentType + " is not one of " + content.fieldNames(), body);
      }
    }

    Map<String, String> headers = new HashMap<>();
    response.headers().names().forEach(name -> headers.put(name, quoted(String.join(",",
      response.headers().getAll(name)))));
    boolean json = hasBody && sameMediaType(JSON, contentType);
    ValidatableResponse validatable = caseInsensitive(json
      ? ValidatableResponse.create(response.statusCode(), headers, body, contentType)
      : ValidatableResponse.create(response.statusCode(), headers));
    return validator.validate(validatable, operationId)
      .<Void>mapEmpty()
      .recover(err -> fail(what, describe(err), body));
  }

  private static <T> Future<T> fail(String what, String why, Buffer body) {
    String shown = body == null ? "(no body)" : body.length() > 500 ? body.getString(0, 500) + "…" : body.toString();
    return Future.failedFuture(new AssertionError("Response does not match openapi.yaml: " + what + ": " + why
      + "\n  body: " + shown));
  }

  private static String describe(Throwable err) {
    if (err instanceof SchemaValidationException schema && schema.getOutputUnit() != null) {
      return err.getMessage() + " " + schema.getOutputUnit().toJson().encode();
    }
    return err.getMessage();
  }

  /** The response object the raw document gives for this operation and status (or its default), $ref followed. */
  private JsonObject documentedResponse(String operationId, int status) {
    JsonObject responses = operationId.equals(UNKNOWN_PATH) || operationId.equals(UNKNOWN_METHOD)
      ? unroutedResponses(operationId) : findOperation(document, operationId).getJsonObject("responses");
    Object response = responses.getValue(Integer.toString(status), responses.getValue("default"));
    return response == null ? null : resolve(document, (JsonObject) response);
  }

  private static JsonObject findOperation(JsonObject document, String operationId) {
    JsonObject paths = document.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(path);
      for (String key : item.fieldNames()) {
        if (isMethod(key) && operationId.equals(item.getJsonObject(key).getString("operationId"))) {
          return item.getJsonObject(key);
        }
      }
    }
    throw new IllegalStateException("no operation " + operationId + " in the document");
  }

  private static JsonObject resolve(JsonObject document, JsonObject node) {
    String ref = node.getString("$ref");
    if (ref == null) {
      return node;
    }
    Object target = document;
    for (String segment : ref.substring(2).split("/")) {
      target = ((JsonObject) target).getValue(segment.replace("~1", "/").replace("~0", "~"));
    }
    return resolve(document, (JsonObject) target);
  }

  /**
   * The copy of the document vertx-openapi gets: non-JSON media types removed (checked here instead), and two
   * operations for what the router answers to requests the document has no operation for.
   */
  private static JsonObject checkable(JsonObject document) {
    JsonObject copy = document.copy();
    JsonObject paths = copy.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(path);
      for (String key : item.fieldNames()) {
        if (isMethod(key)) {
          JsonObject responses = item.getJsonObject(key).getJsonObject("responses");
          for (String status : responses.fieldNames()) {
            JsonObject content = responses.getJsonObject(status).getJsonObject("content");
            if (content != null) {
              content.fieldNames().removeIf(type -> !type.equals(JSON));
            }
          }
        }
      }
    }
    paths.put("/x-unrouted/path", new JsonObject().put("get", new JsonObject()
      .put("operationId", UNKNOWN_PATH).put("responses", unroutedResponses(UNKNOWN_PATH))));
    paths.put("/x-unrouted/method", new JsonObject().put("get", new JsonObject()
      .put("operationId", UNKNOWN_METHOD).put("responses", unroutedResponses(UNKNOWN_METHOD))));
    return copy;
  }

  /** The router-wide handlers (request id, deadline) still run before the 404 or 405, so a 400 or 500 can come. */
  private static JsonObject unroutedResponses(String operationId) {
    return new JsonObject()
      .put("400", ref("BadRequest"))
      .put(operationId.equals(UNKNOWN_PATH) ? "404" : "405", ref(operationId.equals(UNKNOWN_PATH) ? "NotFound"
        : "MethodNotAllowed"))
      .put("500", ref("Internal"));
  }

  private static JsonObject ref(String response) {
    return new JsonObject().put("$ref", "#/components/responses/" + response);
  }

  private static boolean isMethod(String key) {
    return List.of("get", "put", "post", "delete", "options", "head", "patch", "trace").contains(key);
  }

  private static boolean sameMediaType(String documented, String actual) {
    return base(documented).equals(base(actual));
  }

  private static String base(String mediaType) {
    int semicolon = mediaType.indexOf(';');
    return (semicolon < 0 ? mediaType : mediaType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
  }

  /** vertx-openapi 5.0.x looks headers up by their spelling in the document; HTTP header names ignore case. */
  /** A header value with a double quote, as a JSON string literal: the form vertx-openapi decodes to the value. */
  private static String quoted(String value) {
    return value.indexOf('"') < 0 ? value : io.vertx.core.json.Json.encode(value);
  }

  private static ValidatableResponse caseInsensitive(ValidatableResponse response) {
    Map<String, ResponseParameter> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.putAll(response.getHeaders());
    return new ValidatableResponse() {
      @Override
      public Map<String, ResponseParameter> getHeaders() {
        return headers;
      }

      @Override
      public ResponseParameter getBody() {
        return response.getBody();
      }

      @Override
      public String getContentType() {
        return response.getContentType();
      }

      @Override
      public int getStatusCode() {
        return response.getStatusCode();
      }
    };
  }
}

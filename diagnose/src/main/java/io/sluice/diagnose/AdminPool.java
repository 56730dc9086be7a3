package io.sluice.diagnose;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code GET /admin/pool} with a bearer token: the pool's own view, when the service has that endpoint. It is
 * optional, so every outcome is reported, none stops the command. The token is sent, never printed.
 *
 * <p>A single blocking call from the command's thread, hence the JDK client rather than a Vert.x instance of its own.
 *
 * @param status HTTP status, 0 when no answer came
 * @param body   the JSON answer on 2xx, else null
 * @param note   one line for the reader when there is no body
 */
record AdminPool(int status, JsonObject body, String note) {

  static final String PATH = "/admin/pool";
  static final String CLUSTER_PATH = "/admin/cluster";

  /**
   * One lane of the proxy's admission, as {@code /admin/pool} reports it ({@code lanes.<action>}).
   *
   * @param rejected its 503s, all reasons together
   */
  record Lane(String action, int limit, int inFlight, int waiting, long p90Ms, long executed, long dropped,
              long rejected) {

    /** Whether the lane saw any request since its pool was built: the others are left out of the report. */
    boolean traffic() {
      return executed > 0 || inFlight > 0 || waiting > 0 || rejected > 0 || dropped > 0;
    }

    /**
     * A slow lane: shrunk to its probe (limit 1) by statements stopped at their deadline. In a pool of one connection
     * every limit is 1, so that says nothing there.
     */
    boolean slow(int poolSize) {
      return limit == 1 && dropped > 0 && poolSize > 1;
    }

    static Lane of(String action, JsonObject json) {
      long rejected = 0;
      JsonObject reasons = json.getJsonObject("rejected", new JsonObject());
      for (String reason : reasons.fieldNames()) {
        rejected += reasons.getLong(reason, 0L);
      }
      return new Lane(action, json.getInteger("limit", 0), json.getInteger("inFlight", 0),
        json.getInteger("waiting", 0), json.getLong("p90Ms", 0L), json.getLong("executed", 0L),
        json.getLong("dropped", 0L), rejected);
    }
  }

  static AdminPool fetch(BaseUrl target, String token, Duration timeout) {
    HttpRequest request = HttpRequest.newBuilder(target.uri(PATH)).timeout(timeout)
      .header("Authorization", "Bearer " + token).header("Accept", "application/json").GET().build();
    HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
    try {
      return interpret(client.send(request, HttpResponse.BodyHandlers.ofString()));
    } catch (IOException e) {
      return new AdminPool(0, null, "GET " + PATH + " got no answer: " + ClosedLoop.describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new AdminPool(0, null, "GET " + PATH + " interrupted");
    }
  }

  /**
   * {@code GET /admin/cluster}: the cluster's members and each proxy node's figures, or null when the service is not
   * clustered (404), the token is refused, or no answer came; the cluster part is printed only when there is one.
   */
  static JsonObject fetchCluster(BaseUrl target, String token, Duration timeout) {
    HttpRequest request = HttpRequest.newBuilder(target.uri(CLUSTER_PATH)).timeout(timeout)
      .header("Authorization", "Bearer " + token).header("Accept", "application/json").GET().build();
    HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
    try {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? new JsonObject(response.body()) : null;
    } catch (IOException | DecodeException | ClassCastException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** The lanes of the answer, in its order; empty without a body or from a service that reports no lanes. */
  List<Lane> lanes() {
    List<Lane> lanes = new ArrayList<>();
    JsonObject json = body == null ? null : body.getValue("lanes") instanceof JsonObject o ? o : null;
    if (json != null) {
      for (String action : json.fieldNames()) {
        if (json.getValue(action) instanceof JsonObject lane) {
          lanes.add(Lane.of(action, lane));
        }
      }
    }
    return lanes;
  }

  /** The pool's size as the answer gives it ({@code maxSize}), 0 when unknown. */
  int poolSize() {
    return body == null || !(body.getValue("maxSize") instanceof Number n) ? 0 : n.intValue();
  }

  private static AdminPool interpret(HttpResponse<String> response) {
    int status = response.statusCode();
    String note = switch (status) {
      case 404 -> "GET " + PATH + " answered 404: the service has no admin.token, so its admin endpoints are off";
      case 401, 403 -> "GET " + PATH + " answered " + status + ": the admin token was not accepted";
      default -> status / 100 == 2 ? null : "GET " + PATH + " answered " + status;
    };
    if (note != null) {
      return new AdminPool(status, null, note);
    }
    try {
      return new AdminPool(status, new JsonObject(response.body()), null);
    } catch (DecodeException | ClassCastException e) {
      return new AdminPool(status, null,
        "GET " + PATH + " answered " + status + " with a body that is not a JSON object");
    }
  }
}

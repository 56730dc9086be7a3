package io.sluice.api;

import io.vertx.core.json.JsonObject;

import java.util.Set;
import java.util.TreeSet;

/** The {@code http} config section, validated whole: a bad value fails with a message naming the key. */
public record HttpSettings(String host, int port, long requestTimeoutMs, long maxRequestTimeoutMs,
                           int retryAfterSeconds) {

  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  /** Deadline of a request without {@code X-Request-Timeout}: the whole budget, edge to statement. */
  public static final long DEFAULT_REQUEST_TIMEOUT_MS = 2000;
  /** Upper bound of a client's {@code X-Request-Timeout}. */
  public static final long DEFAULT_MAX_REQUEST_TIMEOUT_MS = 10_000;
  public static final int DEFAULT_RETRY_AFTER_SECONDS = 1;

  private static final Set<String> KEYS =
    Set.of("host", "port", "requestTimeoutMs", "maxRequestTimeoutMs", "retryAfterSeconds");

  public static HttpSettings from(JsonObject http) {
    JsonObject s = http == null ? new JsonObject() : http;
    Set<String> unknown = new TreeSet<>(s.fieldNames());
    unknown.removeAll(KEYS);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("unknown key(s) in http: " + unknown + "; known keys: " + new TreeSet<>(KEYS));
    }
    Object host = s.getValue("host", DEFAULT_HOST);
    if (!(host instanceof String h) || h.isBlank()) {
      throw new IllegalArgumentException("http.host must be a host name or address, got " + host);
    }
    long requestTimeout = number(s, "requestTimeoutMs", DEFAULT_REQUEST_TIMEOUT_MS, 1, 3_600_000);
    long maxRequestTimeout = number(s, "maxRequestTimeoutMs", Math.max(DEFAULT_MAX_REQUEST_TIMEOUT_MS, requestTimeout),
      1, 3_600_000);
    if (maxRequestTimeout < requestTimeout) {
      throw new IllegalArgumentException("http.maxRequestTimeoutMs (" + maxRequestTimeout
        + ") must be at least http.requestTimeoutMs (" + requestTimeout + ")");
    }
    return new HttpSettings(h,
      (int) number(s, "port", DEFAULT_PORT, 0, 65_535),
      requestTimeout,
      maxRequestTimeout,
      (int) number(s, "retryAfterSeconds", DEFAULT_RETRY_AFTER_SECONDS, 1, 86_400));
  }

  private static long number(JsonObject s, String key, long defaultValue, long min, long max) {
    Object value = s.getValue(key);
    if (value == null) {
      return defaultValue;
    }
    if ((value instanceof Integer || value instanceof Long) && ((Number) value).longValue() >= min
      && ((Number) value).longValue() <= max) {
      return ((Number) value).longValue();
    }
    throw new IllegalArgumentException("http." + key + " must be an integer between " + min + " and " + max
      + ", got " + value);
  }

  public JsonObject toJson() {
    return new JsonObject().put("host", host).put("port", port).put("requestTimeoutMs", requestTimeoutMs)
      .put("maxRequestTimeoutMs", maxRequestTimeoutMs).put("retryAfterSeconds", retryAfterSeconds);
  }

  public static HttpSettings defaults() {
    return from(new JsonObject());
  }
}

package io.sluice.api;

import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.json.JsonObject;

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

  /** Deadlines and Retry-After apply to the next request; host and port are bound, so they wait for a restart. */
  public static final Schema SCHEMA = Schema.of()
    .live("requestTimeoutMs", "maxRequestTimeoutMs", "retryAfterSeconds")
    .restartOnly("host", "port");

  /** Validated by the same schema code as every other section: a bad value names its full key path. */
  public static HttpSettings from(JsonObject http) {
    return from(JsonSection.at("http", http));
  }

  public static HttpSettings from(JsonSection s) {
    s.onlyKeys(SCHEMA);
    String host = s.string("host", DEFAULT_HOST);
    if (host.isBlank()) {
      throw new ConfigException(s.keyOf("host") + " must be a host name or address, got \"" + host + "\"");
    }
    long requestTimeout = s.longValue("requestTimeoutMs", DEFAULT_REQUEST_TIMEOUT_MS, 1, 3_600_000);
    long maxRequestTimeout = s.longValue("maxRequestTimeoutMs",
      Math.max(DEFAULT_MAX_REQUEST_TIMEOUT_MS, requestTimeout), 1, 3_600_000);
    if (maxRequestTimeout < requestTimeout) {
      throw new ConfigException(s.keyOf("maxRequestTimeoutMs") + " (" + maxRequestTimeout
        + ") must be at least " + s.keyOf("requestTimeoutMs") + " (" + requestTimeout + ")");
    }
    return new HttpSettings(host,
      s.integer("port", DEFAULT_PORT, 0, 65_535),
      requestTimeout,
      maxRequestTimeout,
      s.integer("retryAfterSeconds", DEFAULT_RETRY_AFTER_SECONDS, 1, 86_400));
  }

  public JsonObject toJson() {
    return new JsonObject().put("host", host).put("port", port).put("requestTimeoutMs", requestTimeoutMs)
      .put("maxRequestTimeoutMs", maxRequestTimeoutMs).put("retryAfterSeconds", retryAfterSeconds);
  }

  /** These settings with the live keys of a reloaded {@code http} section; the restart-only keys keep their values. */
  public HttpSettings reloaded(JsonObject http) {
    return from(SCHEMA.keepRestartOnly(toJson(), http));
  }

  public static HttpSettings defaults() {
    return from(new JsonObject());
  }
}

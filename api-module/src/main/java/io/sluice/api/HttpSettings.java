package io.sluice.api;

import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.sluice.config.Schema;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;

import java.util.concurrent.TimeUnit;

/** The {@code http} config section, validated whole: a bad value fails with a message naming the key. */
public record HttpSettings(String host, int port, long requestTimeoutMs, long maxRequestTimeoutMs,
                           int retryAfterSeconds, long idleTimeoutMs, long requestReadTimeoutMs, int maxHeaderSize,
                           int maxInitialLineLength, int instances) {

  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  /** Deadline of a request without {@code X-Request-Timeout}: the whole budget, edge to statement. */
  public static final long DEFAULT_REQUEST_TIMEOUT_MS = 2000;
  /** Upper bound of a client's {@code X-Request-Timeout}. */
  public static final long DEFAULT_MAX_REQUEST_TIMEOUT_MS = 10_000;
  public static final int DEFAULT_RETRY_AFTER_SECONDS = 1;
  /**
   * A connection with no bytes in either direction for this long is closed. It must exceed
   * {@code maxRequestTimeoutMs}: while a request waits on the database its connection is silent, and Vert.x closes
   * an idle connection even with a request in flight. When the key is absent and {@code maxRequestTimeoutMs} is
   * above 29 s, the default is {@code maxRequestTimeoutMs} + 1 s instead.
   */
  public static final long DEFAULT_IDLE_TIMEOUT_MS = 30_000;
  /**
   * Time a client has to deliver a request: its headers from the connection's opening (or, on a kept-alive
   * connection, within {@code idleTimeoutMs} + this after the previous response), its body from the end of its
   * headers. A client that sends too slowly (a byte now and then keeps the idle timeout from firing) is cut off:
   * 408 if a request had begun, then the connection is closed.
   */
  public static final long DEFAULT_REQUEST_READ_TIMEOUT_MS = 10_000;
  /** Largest sum of request header lines, in bytes; beyond it 431 and the connection is closed. Vert.x's default. */
  public static final int DEFAULT_MAX_HEADER_SIZE = 8192;
  /** Largest request line ({@code GET /path?query HTTP/1.1}), in bytes; beyond it 414. Vert.x's default. */
  public static final int DEFAULT_MAX_INITIAL_LINE_LENGTH = 4096;
  /**
   * HTTP verticle instances sharing the port, each on its own event loop; 0 = one per available processor. The
   * HTTP tier holds no state between requests, so more instances only spread the parsing and routing over the
   * cores (Vert.x balances accepted connections round-robin among them).
   */
  public static final int DEFAULT_INSTANCES = 0;

  /**
   * Deadlines and Retry-After apply to the next request; the address and the server's limits are bound when it
   * listens, so they wait for a restart.
   */
  public static final Schema SCHEMA = Schema.of()
    .live("requestTimeoutMs", "maxRequestTimeoutMs", "retryAfterSeconds")
    .restartOnly("host", "port", "idleTimeoutMs", "requestReadTimeoutMs", "maxHeaderSize", "maxInitialLineLength",
      "instances");

  /** Validated by the same schema code as every other section: a bad value names its full key path. */
  public static HttpSettings from(JsonObject http) {
    return from(JsonSection.root(new JsonObject().put("http", http == null ? new JsonObject() : http)).section("http"));
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
    long idleTimeout = s.longValue("idleTimeoutMs", Math.max(DEFAULT_IDLE_TIMEOUT_MS, maxRequestTimeout + 1000), 1,
      7_200_000);
    if (idleTimeout <= maxRequestTimeout) {
      throw new ConfigException(s.keyOf("idleTimeoutMs") + " (" + idleTimeout + ") must be greater than "
        + s.keyOf("maxRequestTimeoutMs") + " (" + maxRequestTimeout + "): a request waiting on the database sends"
        + " nothing, and an idle connection is closed even with a request in flight");
    }
    return new HttpSettings(host,
      s.integer("port", DEFAULT_PORT, 0, 65_535),
      requestTimeout,
      maxRequestTimeout,
      s.integer("retryAfterSeconds", DEFAULT_RETRY_AFTER_SECONDS, 1, 86_400),
      idleTimeout,
      s.longValue("requestReadTimeoutMs", DEFAULT_REQUEST_READ_TIMEOUT_MS, 1, 3_600_000),
      s.integer("maxHeaderSize", DEFAULT_MAX_HEADER_SIZE, 1024, 1_048_576),
      s.integer("maxInitialLineLength", DEFAULT_MAX_INITIAL_LINE_LENGTH, 256, 65_536),
      s.integer("instances", DEFAULT_INSTANCES, 0, 1024));
  }

  /**
   * These settings with the live keys of a reloaded {@code http} section; the restart-only keys keep their running
   * values. Refuses (through {@link #from(JsonSection)}) a {@code maxRequestTimeoutMs} that the running server's idle
   * timeout would cut short.
   */
  public HttpSettings reloaded(JsonObject http) {
    return from(SCHEMA.keepRestartOnly(toJson(), http));
  }

  /** The server's limits: restart-only, they are bound when it listens. */
  public HttpServerOptions toServerOptions() {
    return new HttpServerOptions()
      .setHost(host)
      .setPort(port)
      // HTTP/1.1 only. With cleartext HTTP/2 on (Vert.x's default) a connection is only handed over once a whole
      // request head has arrived, to look for an h2c upgrade, so a client dribbling its headers escapes the
      // request-read deadline; and the deadlines here are per connection, which HTTP/2 multiplexes.
      .setHttp2ClearTextEnabled(false)
      .setIdleTimeout((int) idleTimeoutMs)
      .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
      .setMaxHeaderSize(maxHeaderSize)
      .setMaxInitialLineLength(maxInitialLineLength);
  }

  public JsonObject toJson() {
    return new JsonObject().put("host", host).put("port", port).put("requestTimeoutMs", requestTimeoutMs)
      .put("maxRequestTimeoutMs", maxRequestTimeoutMs).put("retryAfterSeconds", retryAfterSeconds)
      .put("idleTimeoutMs", idleTimeoutMs).put("requestReadTimeoutMs", requestReadTimeoutMs)
      .put("maxHeaderSize", maxHeaderSize).put("maxInitialLineLength", maxInitialLineLength)
      .put("instances", instances);
  }

  /**
   * Whether {@code host} binds loopback only ({@code localhost}, {@code 127.x.x.x}, {@code ::1}): then only this
   * machine reaches the API. Decided from the literal, without a DNS lookup; any other name counts as reachable.
   */
  public boolean listensOnLoopbackOnly() {
    String h = host.trim();
    if (h.equalsIgnoreCase("localhost")) {
      return true;
    }
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (!h.matches("[0-9.]+") && !h.contains(":")) {
      return false;
    }
    try {
      // A literal address: parsed, never looked up.
      return java.net.InetAddress.getByName(h).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** The instances to deploy, with 0 resolved to the available processors. */
  public int resolvedInstances() {
    return instances == 0 ? Runtime.getRuntime().availableProcessors() : instances;
  }

  public static HttpSettings defaults() {
    return from(new JsonObject());
  }
}

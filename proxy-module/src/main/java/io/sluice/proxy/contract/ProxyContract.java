package io.sluice.proxy.contract;

/**
 * Where and how to reach the database proxy.
 *
 * <p>Send a {@link io.vertx.core.json.JsonObject} body to {@link #ADDRESS} with the {@link #ACTION_HEADER} set to
 * one of {@link Action}. The proxy replies with a JSON object (shapes in {@link Fields} and the README) or fails the
 * message with one of {@link FailureCode}. Always set a send timeout: the event bus default is 30 s.
 */
public final class ProxyContract {

  /** The one address the proxy consumes. */
  public static final String ADDRESS = "sluice.db.proxy";

  /** Names the operation; the value is one of {@link Action}. */
  public static final String ACTION_HEADER = "action";

  /** Optional correlation id, echoed in the proxy's log lines about the request. */
  public static final String REQUEST_ID_HEADER = "request-id";

  private ProxyContract() {
  }
}

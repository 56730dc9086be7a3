package io.sluice.contract;

/**
 * Where and how to reach the database proxy.
 *
 * <p>Send a {@link io.vertx.core.json.JsonObject} body to {@link #ADDRESS} with the {@link #ACTION_HEADER} set to
 * one of {@link Action}. The proxy replies with a JSON object (shapes in {@link Fields} and {@code docs/event-bus.md}) or fails the
 * message with one of {@link FailureCode}. Always set a send timeout: the event bus default is 30 s.
 */
public final class ProxyContract {

  /**
   * The address of the proxy's requests. Every event loop of every proxy node consumes it (the event bus round-robins
   * among them, and among the nodes of a clustered event bus). {@link Action#APPLY_CONFIG} is refused here with
   * {@link FailureCode#BAD_REQUEST}: it is served only on {@link #ADMIN_ADDRESS}.
   */
  public static final String ADDRESS = "sluice.db.proxy";

  /**
   * Administrative actions of the proxy node in this process ({@link Action#APPLY_CONFIG}), consumed with
   * {@code localConsumer}: a peer on a clustered event bus cannot reach it, so it cannot reconfigure this node.
   */
  public static final String ADMIN_ADDRESS = "sluice.proxy.admin";

  /**
   * Internal, proxy to proxy: published after each committed (or possibly committed) write so that the other proxy
   * nodes of a clustered event bus drop the cache entries it made outdated. Body
   * {@code {node, action, body, reply?}}: the sending node's id (a node ignores its own messages), the write's
   * action and request body, and its reply when it committed; the receiver derives the entries from them. Not for
   * other callers.
   */
  public static final String CACHE_INVALIDATE_ADDRESS = "sluice.proxy.cache.invalidate";

  /** Names the operation; the value is one of {@link Action}. */
  public static final String ACTION_HEADER = "action";

  /**
   * Optional: the caller's remaining time budget in milliseconds (a positive integer). The proxy spends it on
   * waiting for a connection and then on the statement, and answers 503/504 when it runs out, stopping the
   * statement on the server. Set the send timeout to the same value. Without it the budget is the proxy's
   * {@code db.pool.acquireTimeoutMs} + {@code db.statementTimeoutMs}. Values above {@link #MAX_TIMEOUT_MS} are
   * clamped to it; anything but a positive decimal integer fails with {@link FailureCode#BAD_REQUEST}.
   */
  public static final String TIMEOUT_HEADER = "timeout-ms";

  /**
   * Optional: the caller's absolute deadline, in milliseconds since the epoch (UTC wall clock). Unlike
   * {@link #TIMEOUT_HEADER} it survives queueing: time the message spends in the event bus or behind other work on
   * the proxy's event loop counts against it. The proxy's deadline is the earlier of this and arrival +
   * {@link #TIMEOUT_HEADER}: within one process both sides read the same clock, so this one decides; across
   * processes (clustered event bus) a proxy clock running ahead only shortens the budget (the request fails early,
   * never commits late), and one running behind is bounded by the relative budget. A deadline already passed on
   * arrival fails with {@link FailureCode#STATEMENT_TIMEOUT} without touching the database. Same syntax rules as
   * {@link #TIMEOUT_HEADER}.
   */
  public static final String DEADLINE_HEADER = "deadline-epoch-ms";

  /**
   * Optional on {@link Action#CREATE_USER} and {@link Action#CREATE_NOTIFICATION} (ignored elsewhere): the client's
   * idempotency key, {@link #IDEMPOTENCY_KEY_PATTERN}. The first request with a key runs, and stores the key, a
   * fingerprint of the request and its reply in the same transaction as the write. Later requests with the same
   * key in the same scope (the action, and the user for a notification) get: the stored reply with
   * {@link #IDEMPOTENT_REPLAYED_HEADER} when the request is the same; {@link FailureCode#IDEMPOTENCY_KEY_REUSED}
   * when it differs; {@link FailureCode#REQUEST_IN_PROGRESS} while the first is still running. Only a successful
   * write stores its key: a failed one left nothing behind, so its retry runs again. Keys are kept
   * {@code idempotency.ttlHours}.
   */
  public static final String IDEMPOTENCY_KEY_HEADER = "idempotency-key";

  /** What an {@link #IDEMPOTENCY_KEY_HEADER} may look like: 1 to 255 of {@code [A-Za-z0-9._:~+/=-]}. */
  public static final String IDEMPOTENCY_KEY_PATTERN = "[A-Za-z0-9._:~+/=-]{1,255}";

  /** Reply header, {@code "true"} when the reply is the stored reply of an earlier request with the same key. */
  public static final String IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";

  /**
   * Largest budget {@link #TIMEOUT_HEADER} can give a request: one hour, the upper bound of every timeout in the
   * config. It keeps the deadline arithmetic (nanoseconds since an arbitrary origin) far from overflow.
   */
  public static final long MAX_TIMEOUT_MS = 3_600_000;

  /**
   * Optional correlation id, echoed in the proxy's log lines about the request. Only {@link #REQUEST_ID_PATTERN}
   * is logged as given; anything else (too long, a newline, a control character) is replaced by a generated id.
   */
  public static final String REQUEST_ID_HEADER = "request-id";

  /** What a {@link #REQUEST_ID_HEADER} may look like to be logged as given: 1 to 64 of {@code [A-Za-z0-9._:-]}. */
  public static final String REQUEST_ID_PATTERN = "[A-Za-z0-9._:-]{1,64}";

  /**
   * Whether {@code raw} matches {@link #REQUEST_ID_PATTERN}, checked by hand: both tiers check an id on every request,
   * and a regex there cost a few percent of the CPU.
   */
  public static boolean isRequestId(String raw) {
    if (raw == null || raw.isEmpty() || raw.length() > 64) {
      return false;
    }
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      boolean allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
        || c == '_' || c == ':' || c == '-';
      if (!allowed) {
        return false;
      }
    }
    return true;
  }

  /**
   * Reply header on cacheable reads: {@link #CACHE_HIT}, {@link #CACHE_MISS} or {@link #CACHE_STALE}. Absent when
   * that read's cache is disabled, and on writes (never answered from cache).
   */
  public static final String CACHE_HEADER = "cache";

  /** Fresh entry, served without touching the pool. */
  public static final String CACHE_HIT = "HIT";

  /** Read from the database (possibly sharing one statement with concurrent identical reads). */
  public static final String CACHE_MISS = "MISS";

  /** The pool rejected the read (it would have failed 503) and an expired entry within its grace window answered. */
  public static final String CACHE_STALE = "STALE";

  /** Reply header with {@link #CACHE_HEADER} HIT or STALE: seconds since the entry was read from the database. */
  public static final String AGE_HEADER = "age";

  /**
   * Published after every applied config reload: {@code {changes: [{key, old, new}], config: {...}}}, secrets
   * redacted. Any verticle or service of the same process may subscribe to react to new settings. Published
   * locally only, and every consumer is a local consumer: on a clustered event bus no other node can send here.
   */
  public static final String CONFIG_CHANGED_ADDRESS = "sluice.config.changed";

  /**
   * Request {@code {}} → {@code {config: {...}, reloads: {applied, rejected, lastError, scanPeriodMs}}}: the
   * effective config (secrets redacted) and the reload counters, answered by the launcher's config watcher (a local
   * consumer: other nodes of a cluster get NO_HANDLERS).
   */
  public static final String CONFIG_STATUS_ADDRESS = "sluice.config.status";

  /**
   * Request {@code {}} → this node's view of the cluster ({@code GET /admin/cluster}): members oldest first with
   * their roles, the connection budget and each proxy node's share of it. Answered by the launcher's cluster
   * membership on clustered nodes only (a local consumer: other nodes get NO_HANDLERS, as without clustering).
   */
  public static final String CLUSTER_STATUS_ADDRESS = "sluice.cluster.status";

  /**
   * Request {@code {}} → one proxy node's figures {@code {inUse, waiting, maxSize, eventLoops, held, granted, roster,
   * departing}} ({@code maxSize} is the node's share of the budget in force; {@code held} the connections its request
   * pools may hold, draining ones included; {@code granted} the share its growth gate allowed; {@code roster} the node
   * ids it counts, oldest first; {@code departing} {@code [{id, countedForMs, held}]} the departed nodes it still
   * reserves), for {@code GET /admin/cluster} on any node and for the growth gate of every proxy node. One address per
   * proxy node, named by its member id, so that a request reaches that node and no other. A clustered (not local)
   * consumer, since peers must reach it; it is read-only and reveals nothing but these figures and member ids.
   */
  public static String nodeStatsAddress(String memberId) {
    return NODE_STATS_PREFIX + memberId + ".stats";
  }

  private static final String NODE_STATS_PREFIX = "sluice.proxy.node.";

  private ProxyContract() {
  }
}

package io.sluice.proxy.impl;

import io.sluice.contract.Action;
import io.sluice.contract.Fields;
import io.sluice.contract.ProxyContract;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Both ends of {@link ProxyContract#CACHE_INVALIDATE_ADDRESS}: the message a node publishes after a write
 * ({@link #message}), and what a node does with the messages of the others ({@link #accept}).
 *
 * <p>Why it validates: on a clustered event bus any member can publish there, so a message is untrusted input, and
 * it arrives on the node's own context (one event loop). Invariants:
 * <ul>
 *   <li><em>Nothing invalid is acted on, and nothing throws</em>: a message is dropped, counted by {@link Reason}
 *   ({@code proxy.stats} {@code invalidations}, {@code sluice_invalidations_dropped_total{reason}}) and logged at
 *   most once a second, naming the reason and never echoing the content, unless it is, in this order: a JSON
 *   object; within {@link #MAX_ENCODED_CHARS} and {@link #MAX_DEPTH} (checked by a walk that stops as soon as it
 *   is past them); made of the envelope's fields only ({@link #FIELDS}), each of its type ({@code node} a string
 *   of {@link ProxyContract#REQUEST_ID_PATTERN}); naming a write action; with a body (and a reply, when present)
 *   that the request contract accepts: the same validation as a request ({@link Operations#prepare}), so an id is
 *   a positive JSON integer as everywhere else.</li>
 *   <li><em>Bounded work per message</em>: the walk stops at the bound; a valid message drops at most one key per
 *   cache it names, or one group (one user's notification lists: at most {@code 2 × Fields.MAX_LIMIT} keys, found
 *   through {@link ReadCache}'s index). No message scans a cache, so a flood costs in proportion to what it sends,
 *   never to the size of the caches.</li>
 * </ul>
 *
 * <p>No rate limit: a valid message is as cheap to apply as to decode, and the only correct fallback for messages
 * over a limit would be to clear the caches they name, which would turn a flood into a stampede of reloads on the
 * database. Event-bus TLS ({@code cluster.tls}) decides who may send at all.
 *
 * <p>The envelope's fields are fixed (an unknown one is dropped as malformed): adding one takes a release that
 * accepts it before a release that sends it. Threads: {@link #accept} runs on the node's context; the counters may
 * be read from any thread.
 */
final class RemoteInvalidations {

  private static final Logger log = LoggerFactory.getLogger(RemoteInvalidations.class);

  /** The envelope: {@code {node, action, body, reply?}}. */
  static final String NODE = "node";
  static final String ACTION = "action";
  static final String BODY = "body";
  static final String REPLY = "reply";
  static final Set<String> FIELDS = Set.of(NODE, ACTION, BODY, REPLY);


  /**
   * Largest message accepted, in characters of its JSON encoding (estimated). The largest valid one is a
   * {@code settings.put}: its settings ({@link Fields#MAX_SETTINGS_BYTES}) twice, in the body and in the reply.
   */
  static final int MAX_ENCODED_CHARS = 4 * Fields.MAX_SETTINGS_BYTES;

  /** Deepest nesting accepted: the envelope, body and settings, whose depth the request contract bounds. */
  static final int MAX_DEPTH = Requests.MAX_SETTINGS_DEPTH + 3;

  /** Why a message was dropped; the labels are the metric's {@code reason}. */
  enum Reason {
    /** Not a JSON object, unreadable, an unknown envelope field or one of the wrong type. */
    MALFORMED,
    /** Past {@link #MAX_ENCODED_CHARS} or {@link #MAX_DEPTH}. */
    TOO_LARGE,
    /** Not one of the write actions. */
    UNKNOWN_ACTION,
    /** A body or reply the request contract refuses. */
    INVALID;

    final String label = name().toLowerCase(Locale.ROOT);
  }

  private final String nodeId;
  private final CacheRegistry caches;
  private final LongAdder applied = new LongAdder();
  private final LongAdder[] dropped = new LongAdder[Reason.values().length];
  private final RateLimitedLog droppedLog = new RateLimitedLog(log, 1000);

  RemoteInvalidations(String nodeId, CacheRegistry caches) {
    this.nodeId = nodeId;
    this.caches = caches;
    for (int i = 0; i < dropped.length; i++) {
      dropped[i] = new LongAdder();
    }
  }

  /** What this node publishes after a write: data, so that any node recomputes the write's cache effect. */
  static JsonObject message(String nodeId, String action, JsonObject body, JsonObject reply) {
    return new JsonObject().put(NODE, nodeId).put(ACTION, action).put(BODY, body).put(REPLY, reply);
  }

  /**
   * A message from the invalidation address: drops the entries the write it describes may have changed, or drops
   * the message (see the class comment). Never throws.
   *
   * @param body reads the message's body; on a clustered event bus it decodes it, which may fail
   */
  void accept(Supplier<Object> body) {
    try {
      Object raw;
      try {
        raw = body.get();
      } catch (RuntimeException e) {
        drop(Reason.MALFORMED, "unreadable body");
        return;
      }
      if (!(raw instanceof JsonObject message)) {
        drop(Reason.MALFORMED, "not a JSON object");
        return;
      }
      if (nodeId.equals(message.getValue(NODE))) {
        return;
      }
      apply(message);
    } catch (RuntimeException e) {
      // A bug of ours, not the sender's: still never thrown at the event bus.
      drop(Reason.INVALID, e.getClass().getSimpleName());
    }
  }

  private void apply(JsonObject message) {
    if (!JsonBudget.within(message, MAX_ENCODED_CHARS, MAX_DEPTH)) {
      drop(Reason.TOO_LARGE, "past " + MAX_ENCODED_CHARS + " characters or " + MAX_DEPTH + " levels");
      return;
    }
    if (!FIELDS.containsAll(message.fieldNames())) {
      drop(Reason.MALFORMED, "unknown field (known: " + FIELDS + ")");
      return;
    }
    if (!(message.getValue(NODE) instanceof String node) || !ProxyContract.isRequestId(node)
      || !(message.getValue(ACTION) instanceof String action)
      || !(message.getValue(BODY) instanceof JsonObject request)
      || message.getValue(REPLY) != null && !(message.getValue(REPLY) instanceof JsonObject)) {
      drop(Reason.MALFORMED, "node, action, body or reply missing or of the wrong type");
      return;
    }
    JsonObject reply = message.getJsonObject(REPLY);
    if (!Action.WRITES.contains(action)) {
      drop(Reason.UNKNOWN_ACTION, Action.ALL.contains(action) ? action + " is not a write" : "not a write action");
      return;
    }
    Operation op;
    try {
      op = Operations.prepare(action, request);
    } catch (ProxyFailure e) {
      drop(Reason.INVALID, action + ": " + e.getMessage());
      return;
    }
    List<CacheRegistry.Drop> drops;
    try {
      drops = caches.dropsFor(op.cacheWrites(), reply);
    } catch (ProxyFailure e) {
      drop(Reason.INVALID, action + " reply: " + e.getMessage());
      return;
    }
    drops.forEach(CacheRegistry.Drop::run);
    applied.increment();
  }

  /**
   * Counts and logs a dropped message. {@code why} is ours (a reason, an action name from {@link Action#ALL}, a
   * field name and bound from {@link Requests}), never the sender's content.
   */
  private void drop(Reason reason, String why) {
    dropped[reason.ordinal()].increment();
    droppedLog.warn("Dropped a message on {}: {} ({}); nothing was invalidated",
      ProxyContract.CACHE_INVALIDATE_ADDRESS, reason.label, why);
  }

  long applied() {
    return applied.sum();
  }

  long dropped(Reason reason) {
    return dropped[reason.ordinal()].sum();
  }

  /** {@code {applied, dropped: {<reason>: n}}}. */
  JsonObject stats() {
    JsonObject byReason = new JsonObject();
    for (Reason reason : Reason.values()) {
      byReason.put(reason.label, dropped(reason));
    }
    return new JsonObject().put("applied", applied()).put("dropped", byReason);
  }

  void bind(ProxyMetrics metrics) {
    metrics.counter("sluice.invalidations.applied", "Cache invalidations from other proxy nodes applied here",
      applied, LongAdder::sum);
    for (Reason reason : Reason.values()) {
      metrics.counter("sluice.invalidations.dropped",
        "Messages on the cache-invalidation address dropped as invalid, by reason", dropped[reason.ordinal()],
        LongAdder::sum, "reason", reason.label);
    }
  }

  /**
   * Whether a JSON value's encoding fits a budget, estimated while walking it and abandoned as soon as it does
   * not: the work is at most the budget, however large the value. Scalars count their characters (a string's
   * escapes and a character outside ASCII make the encoding longer, never shorter), structures their punctuation
   * (one comma too many per container): the estimate never exceeds the encoding by more than that, so a message
   * whose encoding fits is never refused.
   */
  static final class JsonBudget {

    private JsonBudget() {
    }

    static boolean within(Object value, long maxChars, int maxDepth) {
      return remaining(value, maxChars, maxDepth) >= 0;
    }

    /** The budget left after {@code value}, or a negative number once it is spent. */
    private static long remaining(Object value, long budget, int depth) {
      if (value == null) {
        return budget - 4;
      }
      if (value instanceof Boolean b) {
        return budget - (b ? 4 : 5);
      }
      if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
        return budget - digits(((Number) value).longValue());
      }
      if (value instanceof Number n) {
        return budget - n.toString().length();
      }
      if (value instanceof CharSequence s) {
        return budget - 2 - s.length();
      }
      if (value instanceof Buffer b) {
        return budget - 2 - (b.length() * 4L + 2) / 3;
      }
      if (value instanceof byte[] b) {
        return budget - 2 - (b.length * 4L + 2) / 3;
      }
      if (depth == 0) {
        return -1;
      }
      if (value instanceof JsonObject object) {
        return entries(object.getMap(), budget, depth);
      }
      if (value instanceof Map<?, ?> map) {
        return entries(map, budget, depth);
      }
      if (value instanceof JsonArray array) {
        return items(array.getList(), budget, depth);
      }
      if (value instanceof List<?> list) {
        return items(list, budget, depth);
      }
      // Anything else (an Instant, an enum) is not sent by a proxy node: no budget for it.
      return -1;
    }

    /** Characters of {@code n} in decimal, with its sign. */
    private static int digits(long n) {
      if (n == Long.MIN_VALUE) {
        return 20;
      }
      int digits = n < 0 ? 2 : 1;
      for (long rest = Math.abs(n); rest >= 10; rest /= 10) {
        digits++;
      }
      return digits;
    }

    private static long entries(Map<?, ?> map, long budget, int depth) {
      budget -= 2;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        budget -= 4 + String.valueOf(e.getKey()).length();
        if (budget < 0) {
          return budget;
        }
        budget = remaining(e.getValue(), budget, depth - 1);
        if (budget < 0) {
          return budget;
        }
      }
      return budget;
    }

    private static long items(List<?> list, long budget, int depth) {
      budget -= 2;
      for (Object item : list) {
        budget = remaining(item, budget - 1, depth - 1);
        if (budget < 0) {
          return budget;
        }
      }
      return budget;
    }
  }
}

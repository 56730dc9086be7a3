package io.sluice.launcher;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.vertx.config.ConfigRetriever;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * Watches the config file (and the environment overrides) and applies changes to the running service without a
 * restart.
 *
 * <p>Every {@code reload.scanPeriodMs} it reads the config again. A new content is validated whole; if valid, its
 * live-reloadable keys are sent to the proxy ({@link Action#APPLY_CONFIG}), which swaps its pool if needed after
 * the capacity guard accepted it. Only then is the change adopted, logged as a one-line diff and published on
 * {@link ProxyContract#CONFIG_CHANGED_ADDRESS}. Anything wrong (bad YAML, a wrong type, a pool over the guard)
 * leaves the running config in force, is logged once per distinct problem, and counts as a rejected reload.
 *
 * <p>Confined to one event-loop context: the periodic timer, the retriever and the replies all run there.
 */
final class ConfigReloader {

  private static final Logger log = LoggerFactory.getLogger(ConfigReloader.class);

  /** Keys applied live; any other key needs a restart. Prefixes end with a dot. */
  static final List<String> LIVE_KEYS = List.of("db.statementTimeoutMs", "db.maxConnectionsReservePercent",
    "db.pool.", "cache.", "faults.", "http.requestTimeoutMs", "http.maxRequestTimeoutMs", "http.retryAfterSeconds");

  private final Vertx vertx;
  private final ConfigRetriever retriever;
  private final long scanPeriodMs;
  private final LongAdder applied = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  /** The config in force, as loaded (before the launcher fills in the embedded database's address). */
  private JsonObject current;
  /** The last content read, applied or not: each distinct content is considered once. */
  private JsonObject lastSeen;
  private String lastError;
  private String lastDeferral;
  private long timerId = -1;
  private boolean busy;
  private MessageConsumer<JsonObject> statusConsumer;

  ConfigReloader(Vertx vertx, ConfigSource source, JsonObject initial, long scanPeriodMs, MeterRegistry registry) {
    this.vertx = vertx;
    this.retriever = SluiceConfig.retriever(vertx, source);
    this.current = initial;
    this.lastSeen = initial;
    this.scanPeriodMs = scanPeriodMs;
    if (registry != null) {
      FunctionCounter.builder("sluice.config.reloads", applied, LongAdder::sum).tag("result", "applied")
        .description("Config reloads").register(registry);
      FunctionCounter.builder("sluice.config.reloads", rejected, LongAdder::sum).tag("result", "rejected")
        .description("Config reloads").register(registry);
    }
  }

  void start() {
    statusConsumer = vertx.eventBus().consumer(ProxyContract.CONFIG_STATUS_ADDRESS,
      message -> message.reply(status()));
    timerId = vertx.setPeriodic(scanPeriodMs, id -> scan());
    log.info("Watching the config for changes every {} ms", scanPeriodMs);
  }

  void stop() {
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    if (statusConsumer != null) {
      statusConsumer.unregister();
    }
    retriever.close();
  }

  private void scan() {
    if (busy) {
      return;
    }
    busy = true;
    retriever.getConfig()
      .onSuccess(this::consider)
      .onFailure(err -> {
        busy = false;
        reject("cannot read the config: " + SluiceConfig.rootMessage(err));
      });
  }

  private void consider(JsonObject next) {
    if (next.equals(lastSeen)) {
      busy = false;
      return;
    }
    lastSeen = next;
    try {
      SluiceConfig.validate(next);
    } catch (RuntimeException e) {
      busy = false;
      reject(e.getMessage());
      return;
    }
    Map<String, Object[]> changes = diff(current, next);
    List<String> restartOnly = changes.keySet().stream().filter(key -> !isLive(key)).toList();
    if (!restartOnly.isEmpty()) {
      log.warn("Config change of {} needs a restart; the running values stay until then", restartOnly);
    }
    JsonObject adopted = adopt(current, next, restartOnly);
    if (restartOnly.size() == changes.size()) {
      busy = false;
      return;
    }
    vertx.eventBus().<JsonObject>request(ProxyContract.ADDRESS, liveProxySections(adopted),
        new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, Action.APPLY_CONFIG).setSendTimeout(30_000))
      .onComplete(ar -> {
        busy = false;
        if (ar.failed()) {
          if (isTemporary(ar.cause())) {
            // The pool is mid-swap or the database is briefly away: try this content again on the next scan.
            lastSeen = current;
            deferred(ar.cause().getMessage());
          } else {
            reject("the database proxy refused it: " + ar.cause().getMessage());
          }
          return;
        }
        JsonObject before = current;
        current = adopted;
        lastError = null;
        lastDeferral = null;
        applied.increment();
        Map<String, Object[]> appliedChanges = diff(before, adopted);
        log.info("Config reloaded: {}", describe(appliedChanges));
        vertx.eventBus().publish(ProxyContract.CONFIG_CHANGED_ADDRESS, new JsonObject()
          .put("changes", toJson(appliedChanges))
          .put("config", SluiceConfig.redacted(adopted)));
      });
  }

  private static boolean isTemporary(Throwable err) {
    return err instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE
      && (reply.failureCode() == FailureCode.POOL_SATURATED || reply.failureCode() == FailureCode.DB_UNAVAILABLE);
  }

  private void deferred(String why) {
    if (!Objects.equals(why, lastDeferral)) {
      lastDeferral = why;
      log.info("Config reload deferred, will retry: {}", why);
    }
  }

  private void reject(String why) {
    if (Objects.equals(why, lastError)) {
      return;
    }
    lastError = why;
    rejected.increment();
    log.error("Config reload rejected, the running config stays in force: {}", why);
  }

  JsonObject status() {
    return new JsonObject()
      .put("config", SluiceConfig.redacted(current))
      .put("reloads", new JsonObject()
        .put("scanPeriodMs", scanPeriodMs)
        .put("applied", applied.sum())
        .put("rejected", rejected.sum())
        .put("lastError", lastError));
  }

  static boolean isLive(String key) {
    return LIVE_KEYS.stream().anyMatch(live -> live.endsWith(".") ? key.startsWith(live) : key.equals(live));
  }

  /** The new config, except restart-only keys, which keep their running values. */
  private static JsonObject adopt(JsonObject running, JsonObject next, List<String> restartOnly) {
    JsonObject adopted = next.copy();
    for (String key : restartOnly) {
      String[] path = key.split("\\.");
      JsonObject target = adopted;
      JsonObject source = running;
      for (int i = 0; i < path.length - 1; i++) {
        target = target.getJsonObject(path[i]);
        source = source == null ? null : source.getJsonObject(path[i]);
      }
      Object value = source == null ? null : source.getValue(path[path.length - 1]);
      if (value == null) {
        target.remove(path[path.length - 1]);
      } else {
        target.put(path[path.length - 1], value);
      }
    }
    return adopted;
  }

  /** What the proxy applies live: its pool and timeouts, the caches and fault injection. */
  private static JsonObject liveProxySections(JsonObject config) {
    JsonObject db = config.getJsonObject("db");
    return new JsonObject()
      .put("db", new JsonObject()
        .put("statementTimeoutMs", db.getValue("statementTimeoutMs"))
        .put("maxConnectionsReservePercent", db.getValue("maxConnectionsReservePercent"))
        .put("pool", db.getJsonObject("pool")))
      .put("cache", config.getJsonObject("cache"))
      .put("faults", config.getJsonObject("faults"));
  }

  /** Leaf keys whose values differ, with {old, new}: compared raw, secrets redacted in what is returned. */
  static Map<String, Object[]> diff(JsonObject before, JsonObject after) {
    Map<String, Object> a = flatten(before, "");
    Map<String, Object> b = flatten(after, "");
    Map<String, Object> shownA = flatten(SluiceConfig.redacted(before), "");
    Map<String, Object> shownB = flatten(SluiceConfig.redacted(after), "");
    Map<String, Object[]> changes = new TreeMap<>();
    for (String key : union(a.keySet(), b.keySet())) {
      if (!Objects.equals(normalize(a.get(key)), normalize(b.get(key)))) {
        changes.put(key, new Object[]{shownA.get(key), shownB.get(key)});
      }
    }
    return changes;
  }

  private static Object normalize(Object value) {
    return value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) ? n.longValue() : value;
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new java.util.TreeSet<>(a);
    all.addAll(b);
    return all;
  }

  private static Map<String, Object> flatten(JsonObject json, String prefix) {
    Map<String, Object> flat = new TreeMap<>();
    if (json == null) {
      return flat;
    }
    for (String key : json.fieldNames()) {
      Object value = json.getValue(key);
      if (value instanceof JsonObject child) {
        flat.putAll(flatten(child, prefix + key + "."));
      } else {
        flat.put(prefix + key, value);
      }
    }
    return flat;
  }

  private static String describe(Map<String, Object[]> changes) {
    return changes.entrySet().stream()
      .map(e -> e.getKey() + " " + e.getValue()[0] + " → " + e.getValue()[1])
      .collect(Collectors.joining(", "));
  }

  private static JsonArray toJson(Map<String, Object[]> changes) {
    List<JsonObject> list = new ArrayList<>();
    changes.forEach((key, values) -> list.add(new JsonObject().put("key", key).put("old", values[0])
      .put("new", values[1])));
    return new JsonArray(list);
  }
}

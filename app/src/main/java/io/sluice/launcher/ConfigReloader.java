package io.sluice.launcher;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.contract.Action;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.vertx.config.ConfigRetriever;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * Watches the config file (and the environment overrides) and applies changes to the running service without a
 * restart.
 *
 * <p>Every {@code reload.scanPeriodMs} it reads the config again. A new content is validated whole and compared with
 * the running one ({@link ConfigDiff}); which keys are live is declared once, by each section's settings type
 * ({@link SluiceConfig#SCHEMA}). If a live key changed, the live keys of the proxy's sections are sent to the proxy
 * ({@link Action#APPLY_CONFIG}, on the process-local {@link ProxyContract#ADMIN_ADDRESS}), which swaps its pool if
 * needed after the capacity guard accepted it. Only then is
 * the change adopted, logged as a one-line diff and published on {@link ProxyContract#CONFIG_CHANGED_ADDRESS}, where
 * the HTTP tier picks up its own live keys. A changed restart-only key keeps its running value and is logged as a
 * warning. Anything wrong (bad YAML, a wrong type, a pool over the guard) leaves the running config in force, is
 * logged once per distinct problem, and counts as a rejected reload. A change the proxy could not take right now (a
 * pool still draining, the database briefly away, no proxy registered, no answer within {@link #APPLY_TIMEOUT_MS})
 * is deferred instead: logged once, not counted, and tried again on the next scan.
 *
 * <p>Confined to one event-loop context: the periodic timer, the retriever and the replies all run there.
 */
final class ConfigReloader {

  private static final Logger log = LoggerFactory.getLogger(ConfigReloader.class);

  /**
   * Send timeout of {@link Action#APPLY_CONFIG}. The proxy answers once the capacity guard's two short queries on its
   * admin connection have run, after any reconfiguration still in progress there; it never waits for a pool to
   * drain. 10 s is far beyond that on a reachable database, and bounds how long scans pause while an apply is
   * outstanding (the event bus's own default is 30 s). A timeout is a deferral, not a refusal: see
   * {@link #isTemporary}.
   */
  static final long APPLY_TIMEOUT_MS = 10_000;

  private final Vertx vertx;
  private final ConfigRetriever retriever;
  private final long scanPeriodMs;
  private final long applyTimeoutMs;
  private final boolean hasProxy;
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
  /**
   * An apply went unanswered: the proxy may have taken it after all, so the live config in force is sent again on
   * the next scan even if the file no longer differs from {@link #current}.
   */
  private boolean proxyInDoubt;
  private MessageConsumer<JsonObject> statusConsumer;

  /** @param hasProxy whether this process runs the proxy tier; without it, changes go to the HTTP tier only */
  ConfigReloader(Vertx vertx, ConfigSource source, JsonObject initial, long scanPeriodMs, MeterRegistry registry,
                 boolean hasProxy) {
    this(vertx, source, initial, scanPeriodMs, APPLY_TIMEOUT_MS, registry, hasProxy);
  }

  /** @param applyTimeoutMs send timeout of an apply; tests shorten it, everyone else uses {@link #APPLY_TIMEOUT_MS} */
  ConfigReloader(Vertx vertx, ConfigSource source, JsonObject initial, long scanPeriodMs, long applyTimeoutMs,
                 MeterRegistry registry) {
    this(vertx, source, initial, scanPeriodMs, applyTimeoutMs, registry, true);
  }

  private ConfigReloader(Vertx vertx, ConfigSource source, JsonObject initial, long scanPeriodMs, long applyTimeoutMs,
                         MeterRegistry registry, boolean hasProxy) {
    this.vertx = vertx;
    this.hasProxy = hasProxy;
    this.applyTimeoutMs = applyTimeoutMs;
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
    // Local consumers and local-only sends: on a clustered event bus, another node must neither read nor change
    // this node's config, and this node's changes must go to its own proxy, not to whichever node the bus picks.
    statusConsumer = vertx.eventBus().localConsumer(ProxyContract.CONFIG_STATUS_ADDRESS,
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
    ConfigDiff diff;
    try {
      diff = ConfigDiff.between(current, next);
    } catch (RuntimeException e) {
      busy = false;
      reject(e.getMessage());
      return;
    }
    if (!diff.restartOnly().isEmpty()) {
      log.warn("Config change of {} needs a restart; the running values stay until then",
        diff.restartOnly().keySet());
    }
    if (diff.live().isEmpty() && !proxyInDoubt) {
      busy = false;
      return;
    }
    applyToProxy(diff.proxyUpdate())
      .onComplete(ar -> {
        busy = false;
        if (ar.failed()) {
          if (isTemporary(ar.cause())) {
            // Try again on the next scan: consider whatever is read then, even this same content.
            lastSeen = null;
            proxyInDoubt |= ar.cause() instanceof ReplyException reply
              && reply.failureType() == ReplyFailure.TIMEOUT;
            deferred(deferral(ar.cause()));
          } else {
            reject("the database proxy refused it: " + ar.cause().getMessage());
          }
          return;
        }
        proxyInDoubt = false;
        current = diff.adopted();
        lastError = null;
        lastDeferral = null;
        if (diff.live().isEmpty()) {
          log.info("Config in force sent to the database proxy again after an unanswered apply");
          return;
        }
        applied.increment();
        log.info("Config reloaded: {}", diff.describeLive());
        vertx.eventBus().publish(ProxyContract.CONFIG_CHANGED_ADDRESS, new JsonObject()
          .put("changes", diff.liveJson())
          .put("config", SluiceConfig.redacted(diff.adopted())), new DeliveryOptions().setLocalOnly(true));
      });
  }

  /**
   * Sends the live keys to this process's own proxy: local only, since on a clustered event bus a plain send goes to
   * whichever proxy node the bus picks. An API node has no proxy: its changes are the HTTP tier's, adopted at once.
   */
  private Future<Message<JsonObject>> applyToProxy(JsonObject update) {
    if (!hasProxy) {
      return Future.succeededFuture();
    }
    return vertx.eventBus().request(ProxyContract.ADMIN_ADDRESS, update,
      new DeliveryOptions().addHeader(ProxyContract.ACTION_HEADER, Action.APPLY_CONFIG)
        .setSendTimeout(applyTimeoutMs).setLocalOnly(true));
  }

  /**
   * Failures after which the proxy may take the same content later, so it is tried again on the next scan and not
   * counted as rejected: the pool is still draining from the previous swap or the database is briefly away (the
   * proxy says so), no proxy is registered right now (NO_HANDLERS: starting or being redeployed), or none answered
   * within the send timeout (TIMEOUT: it may be slow, or may still apply the change after we stopped waiting).
   * Trying again is safe either way: the proxy applies the live keys over its current config, so sending the config
   * it already runs changes nothing (equal pool settings build no new pool; caches, timeouts and faults are set to
   * the values they have).
   */
  private static boolean isTemporary(Throwable err) {
    if (!(err instanceof ReplyException reply)) {
      return false;
    }
    return switch (reply.failureType()) {
      case TIMEOUT, NO_HANDLERS -> true;
      case RECIPIENT_FAILURE -> reply.failureCode() == FailureCode.POOL_SATURATED
        || reply.failureCode() == FailureCode.DB_UNAVAILABLE;
      case ERROR -> false;
    };
  }

  /** Why a try was deferred, worded the same for every try of one kind so that a repeating one is logged once. */
  private String deferral(Throwable err) {
    if (err instanceof ReplyException reply && reply.failureType() == ReplyFailure.TIMEOUT) {
      return "the database proxy did not answer within " + applyTimeoutMs + " ms";
    }
    if (err instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS) {
      return "no database proxy is registered at " + ProxyContract.ADMIN_ADDRESS;
    }
    return err.getMessage();
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
}

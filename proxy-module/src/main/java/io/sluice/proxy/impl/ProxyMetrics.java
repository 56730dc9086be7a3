package io.sluice.proxy.impl;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.sluice.contract.Action;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The proxy's own meters, next to Vert.x's pool, HTTP and event-bus metrics in the same registry. Counters read the
 * proxy's existing counters (no double bookkeeping). Labels are bounded: reasons, cache names and action names are
 * fixed sets; never a user id or a path.
 *
 * <p>With metrics disabled the registry is an empty composite: every meter is a no-op.
 */
final class ProxyMetrics {

  /** Bucket bounds of the statement latency histogram: from a cached-plan PK lookup to a statement timeout. */
  private static final Duration[] LATENCY_BUCKETS = {
    Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
    Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
    Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)};

  private final MeterRegistry registry;
  private final Map<String, Timer> statementTimers = new HashMap<>();

  ProxyMetrics(MeterRegistry registry) {
    this.registry = registry == null ? new CompositeMeterRegistry() : registry;
    for (String action : Action.ALL) {
      statementTimers.put(action, Timer.builder("sluice.statement.duration")
        .description("Time a request held its connection: statements, transaction and injected latency")
        .tag("operation", action)
        .serviceLevelObjectives(LATENCY_BUCKETS)
        .register(this.registry));
    }
  }

  void recordStatement(String action, long nanos) {
    Timer timer = statementTimers.get(action);
    if (timer != null) {
      timer.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  <T> void counter(String name, String description, T source, ToDoubleFunction<T> value, String... tags) {
    FunctionCounter.builder(name, source, value).description(description).tags(tags).register(registry);
  }

  <T> void gauge(String name, String description, T source, ToDoubleFunction<T> value, String... tags) {
    Gauge.builder(name, source, value).description(description).tags(tags).register(registry);
  }

  /** Removes this proxy's meters (a later pool or proxy registers its own). */
  void close() {
    registry.getMeters().stream()
      .filter(meter -> meter.getId().getName().startsWith("sluice."))
      .forEach(registry::remove);
  }
}

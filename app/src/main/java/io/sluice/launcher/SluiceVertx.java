package io.sluice.launcher;

import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.EnumSet;

/** The Vert.x instance Sluice runs on: Micrometer metrics with a Prometheus registry, scraped at /metrics. */
public final class SluiceVertx {

  private SluiceVertx() {
  }

  public static Vertx create() {
    return Vertx.builder().with(new VertxOptions().setMetricsOptions(metricsOptions())).build();
  }

  /**
   * A Vert.x on the clustered event bus ({@code cluster.enabled}), joined through {@code manager}: completes once
   * this node is a member. The cluster manager turns Hazelcast's own shutdown hook off, so whoever owns the result
   * must close it to leave the cluster ({@link Main}'s signal handler does, through the launcher).
   */
  public static Future<Vertx> createClustered(ClusterSettings cluster, HazelcastClusterManager manager) {
    return Vertx.builder()
      .with(new VertxOptions().setMetricsOptions(metricsOptions())
        .setEventBusOptions(HazelcastSetup.eventBusOptions(cluster)))
      .withClusterManager(manager)
      .buildClustered();
  }

  /**
   * Labels kept bounded: the HTTP route template (never the raw path), method and status; the event-bus address
   * (a handful of fixed addresses); the pool type and name (the pool is named {@code sluice-db}).
   *
   * <p>Only the domains behind the series documented in docs/operations.md are on: HTTP server, event bus and pools
   * (the SQL pool's {@code vertx_pool_*}). Off, because nothing documented reads them and they cost on every
   * request: the SQL client's per-query series ({@code vertx_sql_*}: client metrics, whose category is the client's
   * type, {@code sql}) and the byte counters of the database sockets ({@code vertx_net_client_*}); and the unused
   * net server, HTTP client, datagram and verticle domains. Measured on the uncached read: docs/benchmark.md.
   */
  static MicrometerMetricsOptions metricsOptions() {
    return new MicrometerMetricsOptions()
      .setEnabled(true)
      .setJvmMetricsEnabled(true)
      .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true))
      .addDisabledMetricsCategory("sql")
      .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.NET_CLIENT)
      .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.NET_SERVER)
      .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.HTTP_CLIENT)
      .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.DATAGRAM_SOCKET)
      .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.VERTICLES)
      .setLabels(EnumSet.of(Label.HTTP_ROUTE, Label.HTTP_METHOD, Label.HTTP_CODE, Label.EB_ADDRESS,
        Label.EB_FAILURE, Label.POOL_TYPE, Label.POOL_NAME));
  }
}

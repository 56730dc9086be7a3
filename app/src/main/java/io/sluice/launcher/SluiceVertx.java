package io.sluice.launcher;

import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.sluice.launcher.cluster.PeerTrust;
import io.sluice.launcher.cluster.TlsPeerTrust;
import io.sluice.launcher.cluster.TrustedNodeSelector;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.impl.VertxBootstrapImpl;
import io.vertx.core.transport.Transport;
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
   *
   * <p>Sends go only to members that {@code trust} counts ({@link TrustedNodeSelector}); a {@link TlsPeerTrust} is
   * started once the node has joined, before this completes. Vert.x 5.0.x has no public builder method for a node
   * selector: the builder's own steps ({@code Vertx.builder().buildClustered()}, vert.x 5.0.8 {@code Vertx.java}
   * lines 110-139) are taken here on {@code VertxBootstrapImpl}, which accepts one.
   */
  public static Future<Vertx> createClustered(ClusterSettings cluster, HazelcastClusterManager manager,
                                              PeerTrust trust) {
    VertxBootstrapImpl bootstrap = new VertxBootstrapImpl();
    bootstrap.options(new VertxOptions().setMetricsOptions(metricsOptions())
      .setEventBusOptions(HazelcastSetup.eventBusOptions(cluster)));
    bootstrap.transport(Transport.NIO.implementation());
    return bootstrap.clusterManager(manager).clusterNodeSelector(new TrustedNodeSelector(trust)).init()
      .clusteredVertx()
      .compose(vertx -> trust instanceof TlsPeerTrust tls ? tls.start(vertx).map(vertx) : Future.succeededFuture(vertx));
  }

  /**
   * Whom this node trusts with proxy traffic ({@link PeerTrust}): with {@code cluster.tls.enabled}, members whose
   * event bus proves it holds the cluster's certificate ({@link TlsPeerTrust}, on {@code manager}); without, every
   * member, and only the network keeps strangers off the Hazelcast and event-bus ports (docs/scale-out.md#security).
   */
  public static PeerTrust peerTrust(ClusterSettings cluster, HazelcastClusterManager manager) {
    return cluster.tls().enabled() ? new TlsPeerTrust(manager, HazelcastSetup.eventBusOptions(cluster))
      : PeerTrust.everyone();
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

package io.sluice.launcher.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.sluice.config.ConfigException;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The programmatic Hazelcast and event-bus settings of a clustered node (see {@code docs/scale-out.md}). Every
 * choice here closes a default that does not fit a service: multicast discovery (any host on the LAN joins),
 * binding every interface, phone-home, the 5 s wait before joining, a port that silently moves on when taken, and
 * the event bus trusting every certificate.
 */
public final class HazelcastSetup {

  private HazelcastSetup() {
  }

  /** A fifth of {@code cluster.heartbeatTimeoutSeconds}, at least 1 s (Hazelcast's unit). */
  static int heartbeatIntervalSeconds(ClusterSettings cluster) {
    return Math.max(1, cluster.heartbeatTimeoutSeconds() / 5);
  }

  /**
   * How often an event-bus connection pings its peer, and how long it waits for the pong before it closes the
   * connection: Hazelcast's heartbeat interval. Vert.x's 20 s and 20 s (vert.x 5.0.8 {@code OutboundConnection}) kept a
   * connection cut by a partition open through the heal: the bytes queued during the cut sat in TCP's retransmission
   * backoff (the 6th retry after a 21 s cut, the next one seconds away), and the requests sent on it after the heal
   * timed out (bench {@code cluster-partition}, 2 runs of 3, docs/benchmark.md). At this interval a connection whose
   * peer went silent closes well before Hazelcast even drops the member, and the next send opens a fresh one. The
   * connect timeout is the same: a connect begun during a cut (the member not dropped yet) was still in SYN
   * retransmission at the heal (7th retry), and the sends queued behind it waited for the next one; Vert.x's 60 s
   * default would keep it trying through any heal.
   */
  static long eventBusPingMs(ClusterSettings cluster) {
    return heartbeatIntervalSeconds(cluster) * 1000L;
  }

  /** How often the master looks for another cluster to merge with (and how long after start it first does). */
  static int mergeDelaySeconds(ClusterSettings cluster) {
    return cluster.heartbeatTimeoutSeconds();
  }

  /**
   * Vert.x's own map settings ({@code __vertx.subs}, {@code __vertx.haInfo}, {@code __vertx.nodeInfo}) from
   * {@link ConfigUtil#loadConfig()}, then: TCP-IP join on {@code cluster.members} only, this node on
   * {@code cluster.host:cluster.port} only, its role as a member attribute.
   */
  public static Config hazelcastConfig(ClusterSettings cluster) {
    String address = resolve(cluster.host());
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(cluster.name());
    config.setProperty("hazelcast.logging.type", "slf4j");
    config.setProperty("hazelcast.phone.home.enabled", "false");
    // The member is Sluice's own (SluiceClusterManager): the signal handler leaves the cluster, then shuts it down.
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    SluiceClusterManager.nameNode(config);
    // The default 5 s made every join take 5.3 s; the TCP-IP member list makes waiting for others pointless.
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(cluster.heartbeatTimeoutSeconds()));
    // Hazelcast sends a heartbeat every 5 s by default: with a 5 s timeout one late heartbeat would drop a live
    // member. Five heartbeats per timeout, so a member is dropped only after several in a row went missing.
    config.setProperty("hazelcast.heartbeat.interval.seconds", Integer.toString(heartbeatIntervalSeconds(cluster)));
    // Split-brain merge: Hazelcast's defaults (first check 300 s after start, then every 120 s) left a healed
    // partition as two clusters for minutes, each side counting the other's proxy nodes as gone. A split exists
    // only once a member was dropped, a heartbeat timeout after the cut, so checking once per timeout merges a
    // healed partition within about one more timeout; checking more often costs a connection attempt to every
    // absent member each time, for no faster detection of the split itself.
    String mergeDelay = Integer.toString(mergeDelaySeconds(cluster));
    config.setProperty("hazelcast.merge.first.run.delay.seconds", mergeDelay);
    config.setProperty("hazelcast.merge.next.run.delay.seconds", mergeDelay);
    config.setProperty("hazelcast.local.localAddress", address);
    config.setProperty("hazelcast.socket.bind.any", "false");
    NetworkConfig network = config.getNetworkConfig();
    network.setPort(cluster.port()).setPortAutoIncrement(false);
    network.getInterfaces().setEnabled(true).setInterfaces(List.of(address));
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true)
      .setMembers(cluster.members().isEmpty() ? List.of(address + ":" + cluster.port()) : cluster.members());
    config.getMemberAttributeConfig().setAttribute(TierMembership.ROLE_ATTRIBUTE, cluster.role().label());
    return config;
  }

  /**
   * The event bus on {@code cluster.host:cluster.eventBusPort} (advertised as such), with TLS and mutual
   * authentication when {@code cluster.tls.enabled}: this node's PEM key and certificate, trust in the cluster's CA
   * only. {@code trustAll} defaults to true on the event bus, hence the explicit false; hostname verification is off
   * there, so any certificate the CA signed is a peer.
   */
  public static EventBusOptions eventBusOptions(ClusterSettings cluster) {
    long pingMs = eventBusPingMs(cluster);
    EventBusOptions options = new EventBusOptions().setHost(resolve(cluster.host())).setPort(cluster.eventBusPort())
      .setClusterPingInterval(pingMs).setClusterPingReplyInterval(pingMs).setConnectTimeout((int) pingMs);
    ClusterSettings.Tls tls = cluster.tls();
    if (tls.enabled()) {
      requireReadable("cluster.tls.keyPath", tls.keyPath());
      requireReadable("cluster.tls.certPath", tls.certPath());
      requireReadable("cluster.tls.caPath", tls.caPath());
      options.setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setKeyPath(tls.keyPath()).setCertPath(tls.certPath()))
        .setTrustOptions(new PemTrustOptions().addCertPath(tls.caPath()))
        .setClientAuth(ClientAuth.REQUIRED)
        .setTrustAll(false);
    }
    return options;
  }

  private static void requireReadable(String key, String path) {
    if (!Files.isReadable(Path.of(path))) {
      throw new ConfigException(key + " names a file that cannot be read: " + path);
    }
  }

  /** Hazelcast binds and matches interfaces by IP address: a host name is resolved once, at start. */
  private static String resolve(String host) {
    try {
      return InetAddress.getByName(host).getHostAddress();
    } catch (UnknownHostException e) {
      throw new ConfigException("cluster.host " + host + " does not resolve: " + e.getMessage());
    }
  }
}

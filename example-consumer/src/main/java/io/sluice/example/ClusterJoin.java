package io.sluice.example;

import com.hazelcast.config.Config;
import com.hazelcast.config.NetworkConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Joins a Sluice cluster as a plain event-bus node, configured by the same {@code SLUICE_CLUSTER_*} variables and
 * defaults as {@code sluice.jar}'s {@code cluster} section. This is the part of Sluice's {@code HazelcastSetup} a
 * consumer needs, repeated here rather than shared, so that a consumer depends on the contract only and not on the
 * service's launcher: TCP-IP join on the listed members only, bound to one address, no phone-home, no wait before
 * joining, and event-bus TLS with mutual authentication when the cluster has it.
 *
 * <p>Variables: {@code SLUICE_CLUSTER_MEMBERS} (required: {@code host:port,...} of the Sluice nodes),
 * {@code SLUICE_CLUSTER_NAME} (sluice), {@code SLUICE_CLUSTER_HOST} (127.0.0.1), {@code SLUICE_CLUSTER_PORT} (5701:
 * this node's member port, so pick a free one next to a node), {@code SLUICE_CLUSTER_EVENT_BUS_PORT} (0, any), and
 * {@code SLUICE_CLUSTER_TLS_ENABLED} with {@code _KEY_PATH}, {@code _CERT_PATH}, {@code _CA_PATH} (PEM files; a
 * certificate signed by the cluster's CA).
 */
final class ClusterJoin {

  /** The member attribute Sluice's nodes read a member's role from; a consumer is never counted as a proxy node. */
  private static final String ROLE_ATTRIBUTE = "sluice.role";

  private ClusterJoin() {
  }

  /** A clustered Vert.x joined to the cluster the variables describe. */
  static Future<Vertx> join(Map<String, String> env) {
    String members = env.getOrDefault("SLUICE_CLUSTER_MEMBERS", "");
    if (members.isBlank()) {
      return Future.failedFuture(new IllegalArgumentException(
        "SLUICE_CLUSTER_MEMBERS must list the Sluice nodes to join, host:port,..."));
    }
    String host = env.getOrDefault("SLUICE_CLUSTER_HOST", "127.0.0.1");
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(env.getOrDefault("SLUICE_CLUSTER_NAME", "sluice"));
    config.setProperty("hazelcast.phone.home.enabled", "false");
    // Hazelcast waits 5 s before joining by default; the member list makes that pointless.
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    // A heartbeat every second: Sluice's nodes may drop a member silent for 5 s (the smallest heartbeat timeout).
    config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    config.setProperty("hazelcast.local.localAddress", host);
    config.setProperty("hazelcast.socket.bind.any", "false");
    NetworkConfig network = config.getNetworkConfig();
    network.setPort(Integer.parseInt(env.getOrDefault("SLUICE_CLUSTER_PORT", "5701"))).setPortAutoIncrement(false);
    network.getInterfaces().setEnabled(true).setInterfaces(List.of(host));
    network.getJoin().getMulticastConfig().setEnabled(false);
    network.getJoin().getAutoDetectionConfig().setEnabled(false);
    network.getJoin().getTcpIpConfig().setEnabled(true)
      .setMembers(Arrays.stream(members.split(",")).map(String::trim).toList());
    config.getMemberAttributeConfig().setAttribute(ROLE_ATTRIBUTE, "client");
    return Vertx.builder()
      .with(new VertxOptions().setEventBusOptions(eventBusOptions(env, host)))
      .withClusterManager(new HazelcastClusterManager(config))
      .buildClustered();
  }

  private static EventBusOptions eventBusOptions(Map<String, String> env, String host) {
    EventBusOptions options = new EventBusOptions().setHost(host)
      .setPort(Integer.parseInt(env.getOrDefault("SLUICE_CLUSTER_EVENT_BUS_PORT", "0")));
    if (Boolean.parseBoolean(env.getOrDefault("SLUICE_CLUSTER_TLS_ENABLED", "false"))) {
      // trustAll defaults to true on the event bus: without the explicit false any certificate would do.
      options.setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setKeyPath(env.get("SLUICE_CLUSTER_TLS_KEY_PATH"))
          .setCertPath(env.get("SLUICE_CLUSTER_TLS_CERT_PATH")))
        .setTrustOptions(new PemTrustOptions().addCertPath(env.get("SLUICE_CLUSTER_TLS_CA_PATH")))
        .setClientAuth(ClientAuth.REQUIRED)
        .setTrustAll(false);
    }
    return options;
  }
}

package io.sluice.launcher;

import com.hazelcast.config.Config;
import io.sluice.config.ConfigException;
import io.sluice.config.JsonSection;
import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.sluice.launcher.cluster.TierMembership;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code cluster} section: defaults, validation naming the key, environment overrides, what it builds. */
class ClusterSettingsTest {

  private static ClusterSettings parse(JsonObject cluster) {
    return ClusterSettings.from(JsonSection.at("cluster", cluster));
  }

  private static String refusal(JsonObject cluster) {
    return assertThrows(ConfigException.class, () -> parse(cluster)).getMessage();
  }

  @Test
  @DisplayName("defaults: off, role all, one member on 127.0.0.1:5701, grace above the heartbeat timeout")
  void defaults() {
    ClusterSettings cluster = ClusterSettings.defaults();
    assertFalse(cluster.enabled());
    assertEquals(ClusterSettings.Role.ALL, cluster.role());
    assertEquals("sluice", cluster.name());
    assertEquals("127.0.0.1", cluster.host());
    assertEquals(5701, cluster.port());
    assertEquals(List.of(), cluster.members());
    assertEquals(0, cluster.eventBusPort());
    assertTrue(cluster.shareGraceMs() >= cluster.heartbeatTimeoutSeconds() * 1000L);
    assertFalse(cluster.tls().enabled());
    assertEquals(cluster, parse(cluster.toJson()), "toJson reads back the same");
  }

  @Test
  @DisplayName("bad values are refused with the key's full path")
  void refusals() {
    assertTrue(refusal(new JsonObject().put("enabled", true).put("role", "db")).contains("cluster.role must be all,"
      + " api or proxy"));
    assertTrue(refusal(new JsonObject().put("role", "api")).contains("cluster.role api needs cluster.enabled true"));
    assertTrue(refusal(new JsonObject().put("members", "10.0.0.1:5701,10.0.0.2")).contains("cluster.members"));
    assertTrue(refusal(new JsonObject().put("members", "10.0.0.1:70000")).contains("cluster.members"));
    assertTrue(refusal(new JsonObject().put("name", "a b")).contains("cluster.name"));
    assertTrue(refusal(new JsonObject().put("port", 0)).contains("cluster.port must be between 1 and 65535"));
    assertTrue(refusal(new JsonObject().put("heartbeatTimeoutSeconds", 30).put("shareGraceMs", 10_000))
      .contains("cluster.shareGraceMs (10000) must be at least cluster.heartbeatTimeoutSeconds (30 s)"));
    assertTrue(refusal(new JsonObject().put("tls", new JsonObject().put("enabled", true).put("keyPath", "k.pem")))
      .contains("cluster.tls.certPath must name a PEM file"));
    assertTrue(refusal(new JsonObject().put("tls", new JsonObject().put("trustAll", true)))
      .contains("cluster.tls.trustAll"));
  }

  @Test
  @DisplayName("members are a comma-separated host:port list, spaces allowed")
  void members() {
    assertEquals(List.of("10.0.0.1:5701", "proxy-2:5702", "[::1]:5701"),
      parse(new JsonObject().put("members", " 10.0.0.1:5701, proxy-2:5702,[::1]:5701 ,")).members());
  }

  @Test
  @DisplayName("every cluster key has its SLUICE_ variable, typed like the key, through the whole config load")
  void environmentOverrides() {
    JsonObject config = SluiceConfig.validate(envApplied(Map.of(
      "SLUICE_CLUSTER_ENABLED", "true",
      "SLUICE_CLUSTER_ROLE", "proxy",
      "SLUICE_CLUSTER_MEMBERS", "127.0.0.1:5701,127.0.0.1:5702",
      "SLUICE_CLUSTER_EVENT_BUS_PORT", "5801",
      "SLUICE_CLUSTER_SHARE_GRACE_MS", "30000",
      "SLUICE_CLUSTER_HEARTBEAT_TIMEOUT_SECONDS", "25",
      "SLUICE_CLUSTER_TLS_ENABLED", "true",
      "SLUICE_CLUSTER_TLS_KEY_PATH", "/k.pem",
      "SLUICE_CLUSTER_TLS_CERT_PATH", "/c.pem",
      "SLUICE_CLUSTER_TLS_CA_PATH", "/ca.pem")));
    ClusterSettings cluster = ClusterSettings.from(JsonSection.root(config).section("cluster"));
    assertTrue(cluster.enabled());
    assertEquals(ClusterSettings.Role.PROXY, cluster.role());
    assertEquals(List.of("127.0.0.1:5701", "127.0.0.1:5702"), cluster.members());
    assertEquals(5801, cluster.eventBusPort());
    assertEquals(30_000, cluster.shareGraceMs());
    assertEquals(25, cluster.heartbeatTimeoutSeconds());
    assertEquals(new ClusterSettings.Tls(true, "/k.pem", "/c.pem", "/ca.pem"), cluster.tls());
    assertThrows(ConfigException.class, () -> envApplied(Map.of("SLUICE_CLUSTER_PORT", "x")));
  }

  @Test
  @DisplayName("every cluster key is restart-only")
  void restartOnly() {
    SluiceConfig.SCHEMA.leafPaths().stream().filter(key -> key.startsWith("cluster."))
      .forEach(key -> assertFalse(SluiceConfig.SCHEMA.isLive(key), key));
  }

  @Test
  @DisplayName("Hazelcast: TCP-IP join on the member list only, no multicast, no phone-home, no join wait, fixed port")
  void hazelcastConfig() {
    ClusterSettings cluster = parse(new JsonObject().put("enabled", true).put("role", "proxy").put("name", "test")
      .put("port", 5799).put("members", "127.0.0.1:5799,127.0.0.1:5800").put("heartbeatTimeoutSeconds", 7)
      .put("shareGraceMs", 9000));
    Config config = HazelcastSetup.hazelcastConfig(cluster);
    assertEquals("test", config.getClusterName());
    assertFalse(config.getNetworkConfig().getJoin().getMulticastConfig().isEnabled());
    assertFalse(config.getNetworkConfig().getJoin().getAutoDetectionConfig().isEnabled());
    assertTrue(config.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled());
    assertEquals(List.of("127.0.0.1:5799", "127.0.0.1:5800"),
      config.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
    assertEquals(5799, config.getNetworkConfig().getPort());
    assertFalse(config.getNetworkConfig().isPortAutoIncrement());
    assertEquals(List.of("127.0.0.1"), List.copyOf(config.getNetworkConfig().getInterfaces().getInterfaces()));
    assertEquals("false", config.getProperty("hazelcast.phone.home.enabled"));
    assertEquals("0", config.getProperty("hazelcast.wait.seconds.before.join"));
    assertEquals("7", config.getProperty("hazelcast.max.no.heartbeat.seconds"));
    assertEquals("1", config.getProperty("hazelcast.heartbeat.interval.seconds"), "several heartbeats per timeout");
    assertEquals("proxy", config.getMemberAttributeConfig().getAttribute(TierMembership.ROLE_ATTRIBUTE));
    assertTrue(config.getMultiMapConfigs().containsKey("__vertx.subs"), "Vert.x's own map settings kept");
  }

  @Test
  @DisplayName("event-bus TLS: PEM key, cert and CA, client auth required, trustAll explicitly off")
  void eventBusTls() throws Exception {
    Path dir = Files.createTempDirectory("cluster-settings-test");
    for (String file : List.of("k.pem", "c.pem", "ca.pem")) {
      Files.writeString(dir.resolve(file), "placeholder");
    }
    ClusterSettings cluster = parse(new JsonObject().put("enabled", true).put("eventBusPort", 5801)
      .put("tls", new JsonObject().put("enabled", true).put("keyPath", dir.resolve("k.pem").toString())
        .put("certPath", dir.resolve("c.pem").toString()).put("caPath", dir.resolve("ca.pem").toString())));
    EventBusOptions options = HazelcastSetup.eventBusOptions(cluster);
    assertTrue(options.isSsl());
    assertFalse(options.isTrustAll());
    assertEquals(ClientAuth.REQUIRED, options.getClientAuth());
    assertEquals("127.0.0.1", options.getHost());
    assertEquals(5801, options.getPort());
    EventBusOptions plain = HazelcastSetup.eventBusOptions(ClusterSettings.defaults());
    assertFalse(plain.isSsl());
    Files.delete(dir.resolve("ca.pem"));
    assertTrue(assertThrows(ConfigException.class, () -> HazelcastSetup.eventBusOptions(cluster)).getMessage()
      .contains("cluster.tls.caPath"));
  }

  private static JsonObject envApplied(Map<String, String> env) {
    return SluiceConfig.applyEnvironment(SluiceConfig.defaults(), env);
  }
}

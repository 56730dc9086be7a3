package io.sluice.launcher;

import io.sluice.config.JsonSection;
import io.sluice.contract.FailureCode;
import io.sluice.contract.client.Notification;
import io.sluice.contract.client.SluiceClient;
import io.sluice.contract.client.SluiceException;
import io.sluice.contract.client.User;
import io.sluice.launcher.cluster.ClusterSettings;
import io.sluice.launcher.cluster.HazelcastSetup;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.TestCerts;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example consumer and the typed client against a real cluster: one proxy node ({@code sluice.jar}, role proxy,
 * in a process of its own) clustered on loopback with event-bus TLS and mutual authentication, on the test
 * database. The example runs as {@code java -jar sluice-example-consumer.jar}, a third process with only the contract
 * and Hazelcast on its class path; the client's failure cases run on a clustered Vert.x in the test JVM.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExampleConsumerIT {

  private static final String CLUSTER = "example-" + UUID.randomUUID().toString().substring(0, 8);

  private final int proxyMember = SluiceProcess.freePort();
  private DbSettings db;
  private TestCerts ca;
  private SluiceProcess proxy;
  private Vertx vertx;

  @BeforeAll
  void startProxyNode() throws IOException {
    db = TestDatabase.settings();
    Path target = Path.of("target", "process-it").toAbsolutePath();
    Files.createDirectories(target);
    ca = TestCerts.authority(Files.createTempDirectory(target, "example-certs-"), "example");
    Map<String, String> env = new HashMap<>(clusterEnv("proxy", "proxy", proxyMember));
    env.put("SLUICE_DB_HOST", db.host());
    env.put("SLUICE_DB_PORT", String.valueOf(db.port()));
    env.put("SLUICE_DB_DATABASE", db.database());
    env.put("SLUICE_DB_USER", db.user());
    env.put("SLUICE_DB_PASSWORD", db.password());
    proxy = SluiceProcess.start("example-proxy", SluiceProcess.freePort(), env);
    proxy.awaitUp(java.net.http.HttpClient.newHttpClient());
  }

  @AfterAll
  void stop() {
    if (vertx != null) {
      vertx.close().await();
    }
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  @DisplayName("java -jar sluice-example-consumer.jar joins the cluster, exits 0, and its user and its one"
    + " notification (sent twice with one idempotency key) are in the database")
  void exampleConsumerRunsAgainstTheCluster() throws Exception {
    Path dir = Files.createTempDirectory(proxy.dir.getParent(), "example-consumer-");
    ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-jar", exampleJar().toString())
      .directory(dir.toFile())
      .redirectOutput(dir.resolve("out.txt").toFile())
      .redirectError(dir.resolve("err.txt").toFile());
    builder.environment().keySet().removeIf(key -> key.startsWith("SLUICE_"));
    builder.environment().putAll(clusterEnv("example", "client", SluiceProcess.freePort()));
    Process example = builder.start();
    try {
      assertTrue(example.waitFor(SluiceProcess.START_BOUND.toSeconds(), TimeUnit.SECONDS),
        "the example still ran after " + SluiceProcess.START_BOUND.toSeconds() + " s");
    } finally {
      example.destroyForcibly();
    }
    String out = Files.readString(dir.resolve("out.txt"));
    String report = "stdout:\n" + out + "\nstderr:\n" + Files.readString(dir.resolve("err.txt"));
    assertEquals(0, example.exitValue(), report);

    Matcher created = Pattern.compile("created user (\\d+) <([^>]+)>").matcher(out);
    assertTrue(created.find(), report);
    long userId = Long.parseLong(created.group(1));
    assertEquals(List.of(created.group(2)), column("SELECT email FROM users WHERE id = ?", userId));
    assertEquals(List.of("Welcome"), column("SELECT title FROM notifications WHERE user_id = ?", userId),
      "one row for the two sends with one key");
  }

  @Test
  @DisplayName("the client in another node: every action answers; an unknown user is NOT_FOUND, a taken email"
    + " CONFLICT, a passed deadline STATEMENT_TIMEOUT with nothing written")
  void clientAgainstTheProxyNode() throws Exception {
    SluiceClient client = SluiceClient.create(joined());
    User user = client.createUser("Client IT", "client-" + UUID.randomUUID() + "@example.com", in(10)).await();
    assertEquals(user, client.getUser(user.id(), in(10)).await());
    JsonObject settings = new JsonObject().put("theme", "dark");
    assertEquals(settings, client.putSettings(user.id(), settings, in(10)).await());
    assertEquals(settings, client.getSettings(user.id(), in(10)).await());
    Notification sent = client.createNotification(user.id(), "Hello", "from the client", in(10)).await();
    client.markNotificationRead(user.id(), sent.id(), in(10)).await();
    assertEquals(List.of(), client.listNotifications(user.id(), true, 10, in(10)).await());
    Notification read = client.listNotifications(user.id(), in(10)).await().get(0);
    assertEquals(sent.id(), read.id());
    assertTrue(read.read());
    client.ping(in(10)).await();
    client.ready(in(10)).await();
    assertTrue(client.stats(in(10)).await().containsKey("pool"));

    assertEquals(FailureCode.NOT_FOUND, failureCode(() -> client.getUser(Long.MAX_VALUE, in(10)).await()));
    assertEquals(FailureCode.CONFLICT, failureCode(() -> client.createUser("Again", user.email(), in(10)).await()));
    assertEquals(FailureCode.STATEMENT_TIMEOUT, failureCode(() -> client.createNotification(user.id(), "Too late",
      "never sent", Instant.now().minusMillis(1)).await()));
    assertEquals(List.of("Hello"), column("SELECT title FROM notifications WHERE user_id = ?", user.id()));
  }

  /** A clustered Vert.x in this JVM with Sluice's own cluster settings and a certificate of the cluster's CA. */
  private Vertx joined() {
    Path[] pair = ca.node("client-it");
    ClusterSettings settings = ClusterSettings.from(JsonSection.at("cluster", new JsonObject()
      .put("enabled", true).put("role", "api").put("name", CLUSTER).put("port", SluiceProcess.freePort())
      .put("members", "127.0.0.1:" + proxyMember)
      .put("tls", new JsonObject().put("enabled", true).put("keyPath", pair[0].toString())
        .put("certPath", pair[1].toString()).put("caPath", ca.caPem().toString()))));
    vertx = Vertx.builder()
      .with(new VertxOptions().setEventBusOptions(HazelcastSetup.eventBusOptions(settings)))
      .withClusterManager(new HazelcastClusterManager(HazelcastSetup.hazelcastConfig(settings)))
      .buildClustered().await();
    return vertx;
  }

  /** The {@code SLUICE_CLUSTER_*} variables of a node of this test's cluster, with its own certificate. */
  private Map<String, String> clusterEnv(String name, String role, int member) {
    Map<String, String> env = new HashMap<>(SluiceProcess.clusterEnvironment(CLUSTER, role, "127.0.0.1", member,
      "127.0.0.1:" + proxyMember));
    env.putAll(SluiceProcess.clusterTlsEnvironment(ca.node(name), ca.caPem()));
    return env;
  }

  private static Path exampleJar() {
    Path jar = Path.of(System.getProperty("example.jar", "../example-consumer/target/sluice-example-consumer.jar"))
      .toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: this test runs after example-consumer's package");
    }
    return jar;
  }

  private static Instant in(long seconds) {
    return Instant.now().plusSeconds(seconds);
  }

  private static int failureCode(Runnable request) {
    return assertThrows(SluiceException.class, request::run).code();
  }

  /** The first column of {@code sql}'s rows, for one id, read on the server. */
  private List<String> column(String sql, long id) throws SQLException {
    try (Connection connection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
         PreparedStatement select = connection.prepareStatement(sql)) {
      select.setLong(1, id);
      try (ResultSet rows = select.executeQuery()) {
        List<String> values = new java.util.ArrayList<>();
        while (rows.next()) {
          values.add(rows.getString(1));
        }
        return values;
      }
    }
  }
}

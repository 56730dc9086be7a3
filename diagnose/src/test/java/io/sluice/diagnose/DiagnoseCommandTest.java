package io.sluice.diagnose;

import io.sluice.launcher.TestSluice;
import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.TestCerts;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The diagnose command against a real Sluice on the test database, driven in-process without System.exit. */
@ExtendWith(VertxExtension.class)
class DiagnoseCommandTest {

  private static TestSluice.Running sluice;
  private static IdRange existing;

  /** What one run printed and returned. */
  record Outcome(int exitCode, String out, String err) {

    JsonObject json() {
      return new JsonObject(out.trim());
    }

    JsonObject load() {
      return json().getJsonObject("load");
    }

    long status(String status) {
      return load().getJsonObject("statusCounts").getLong(status, 0L);
    }
  }

  @BeforeAll
  static void start() {
    sluice = TestSluice.start(TestSluice.config());
    existing = createUsers(5);
  }

  @AfterAll
  static void stop() {
    sluice.close();
  }

  /** Created one after another, the users get consecutive ids, so the whole range exists. */
  private static IdRange createUsers(int count) {
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      HttpResponse<Buffer> created = sluice.client().post("/users").sendJson(new JsonObject()
        .put("name", "Diag " + i).put("email", "diag-" + UUID.randomUUID() + "@example.com")).await();
      assertEquals(201, created.statusCode(), created.bodyAsString());
      ids.add(created.bodyAsJsonObject().getLong("id"));
    }
    IdRange range = new IdRange(ids.get(0), ids.get(count - 1));
    assertEquals(count - 1, range.last() - range.first(), "ids are consecutive: " + ids);
    return range;
  }

  private static Outcome diagnose(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exitCode = DiagnoseCommand.run(new PrintStream(out, true, StandardCharsets.UTF_8),
      new PrintStream(err, true, StandardCharsets.UTF_8), args.toArray(String[]::new));
    return new Outcome(exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static List<String> load(int port, String ids, int requests) {
    return new ArrayList<>(List.of("--url", "http://127.0.0.1:" + port, "--requests", String.valueOf(requests),
      "--concurrency", "8", "--ids", ids, "--json"));
  }

  private static List<String> testDatabase() {
    DbSettings db = TestDatabase.settings();
    return List.of("--db-host", db.host(), "--db-port", String.valueOf(db.port()), "--db-user", db.user(),
      "--db-password=" + db.password(), "--db-database", db.database());
  }

  @Test
  @DisplayName("200 GETs of existing users: all 200, no 503, exit 0; the database check sees max_connections and"
    + " the service's pool connections")
  void existingUsersAllSucceedAndTheDatabaseIsInspected() {
    List<String> args = load(sluice.port(), existing.toString(), 200);
    args.addAll(testDatabase());
    Outcome outcome = diagnose(args);

    assertEquals(0, outcome.exitCode(), outcome.err() + outcome.out());
    assertEquals(200, outcome.load().getLong("totalRequests"));
    assertEquals(200, outcome.status("200"));
    assertEquals(0, outcome.status("503"));
    JsonObject database = outcome.json().getJsonObject("database");
    assertTrue(database.getLong("maxConnections") > 0, database.encode());
    assertTrue(database.getJsonObject("processlist").getInteger("connections") >= 1, database.encode());
  }

  @Test
  @DisplayName("ids that do not exist: every answer is 404, which is not a 503, so exit 0")
  void unknownUsersAre404AndStillExit0() {
    Outcome outcome = diagnose(load(sluice.port(), "987654321000-987654321099", 100));

    assertEquals(0, outcome.exitCode(), outcome.err() + outcome.out());
    assertEquals(100, outcome.load().getLong("totalRequests"));
    assertEquals(100, outcome.status("404"));
  }

  @Test
  @DisplayName("a pool of 1 with no wait queue and 300 ms per statement, 8 in flight: 503s above the limit, exit 2")
  void a503ShareAboveTheLimitExits2() {
    JsonObject config = TestSluice.config();
    config.getJsonObject("db").getJsonObject("pool")
      .put("maxSize", 1).put("maxWaitQueueSize", 0).put("acquireTimeoutMs", 30_000);
    config.getJsonObject("faults").put("dbLatency",
      new JsonObject().put("enabled", true).put("minMs", 300).put("maxMs", 300));
    try (TestSluice.Running overloaded = TestSluice.start(config)) {
      // Notification lists: concurrent reads of users would share one statement (point-read batches).
      List<String> args = load(overloaded.port(), existing.toString(), 40);
      args.addAll(List.of("--scenario", "notifications"));
      Outcome outcome = diagnose(args);

      assertEquals(2, outcome.exitCode(), outcome.err() + outcome.out());
      assertEquals(40, outcome.load().getLong("totalRequests"));
      assertTrue(outcome.status("503") > 0, outcome.out());
      assertTrue(outcome.load().getDouble("rate503Percent") > 1.0, outcome.out());
      assertEquals(2, outcome.json().getInteger("exitCode"));
    }
  }

  @Test
  @DisplayName("--admin-token on a service that is not clustered: /admin/cluster answers 404 and nothing of it is"
    + " printed")
  void noClusterPartWithoutACluster() {
    Outcome json = diagnose(List.of("--url", "http://127.0.0.1:" + sluice.port(), "--no-load", "--admin-token",
      "not-the-token", "--json"));
    assertEquals(0, json.exitCode(), json.err() + json.out());
    assertTrue(json.json().containsKey("adminPool"), json.out());
    assertTrue(!json.json().containsKey("adminCluster"), json.out());
    Outcome text = diagnose(List.of("--url", "http://127.0.0.1:" + sluice.port(), "--no-load", "--admin-token",
      "not-the-token"));
    assertTrue(!text.out().contains("Cluster "), text.out());
  }

  @Test
  @DisplayName("--admin-token prints one line per lane with traffic, and flags a lane shrunk to its probe by"
    + " statements stopped at their deadline as a slow lane")
  void lanesWithTrafficAndASlowLane() {
    JsonObject config = TestSluice.config();
    config.getJsonObject("admin").put("token", "lanes-token");
    // Every user.get statement sleeps 400 ms and is stopped at 100 ms: each one drops, down to the lane's probe.
    config.getJsonObject("db").put("statementTimeoutMs", 100);
    config.getJsonObject("cache").getJsonObject("users").put("enabled", false);
    config.getJsonObject("faults").put("dbLatency",
      new JsonObject().put("enabled", true).put("minMs", 400).put("maxMs", 400));
    try (TestSluice.Running slow = TestSluice.start(config)) {
      List<String> args = load(slow.port(), existing.toString(), 30);
      args.addAll(List.of("--admin-token", "lanes-token", "--max-503-rate", "100"));
      Outcome json = diagnose(args);
      assertEquals(0, json.exitCode(), json.err() + json.out());
      JsonObject admin = json.json().getJsonObject("adminPool");
      JsonObject lane = admin.getJsonObject("body").getJsonObject("lanes").getJsonObject("user.get");
      assertTrue(lane.getLong("dropped") > 0, admin.encode());
      assertEquals(1, admin.getJsonArray("slowLanes").size(), admin.encode());
      assertEquals("user.get", admin.getJsonArray("slowLanes").getJsonObject(0).getString("action"));

      Outcome text = diagnose(List.of("--url", "http://127.0.0.1:" + slow.port(), "--no-load", "--admin-token",
        "lanes-token"));
      assertEquals(0, text.exitCode(), text.err() + text.out());
      assertTrue(text.out().contains("Lanes        with traffic"), text.out());
      assertTrue(text.out().matches("(?s).*\\n  user\\.get +limit 1  inFlight \\d+  waiting \\d+  p90 \\d+ ms"
        + "  rejected \\d+  dropped [1-9]\\d*\\n.*"), text.out());
      assertTrue(text.out().contains("  slow lane: user.get (p90 "), text.out());
      assertTrue(!text.out().contains("settings.put"), "a lane without traffic has no line: " + text.out());
      assertTrue(!text.out().contains("\"lanes\""), "the lanes are not repeated in the pool's JSON: " + text.out());
    }
  }

  @Test
  @DisplayName("--db-tls-mode verify-ca with a CA that did not sign the server's certificate: the check cannot connect,"
    + " says TLS, and exits 1")
  void databaseCheckOverTlsVerifiesTheCertificate(@TempDir Path dir) {
    TestCerts otherCa = TestCerts.authority(dir, "other");
    List<String> args = new ArrayList<>(List.of("--no-load"));
    args.addAll(testDatabase());
    args.addAll(List.of("--db-tls-mode", "verify-ca", "--db-tls-ca-path", otherCa.caPem().toString()));
    Outcome outcome = diagnose(args);
    assertEquals(Report.EXIT_CANNOT_RUN, outcome.exitCode(), outcome.err() + outcome.out());
    assertTrue(outcome.err().contains("over TLS (db.tls.mode=verify-ca, db.tls.caPath=" + otherCa.caPem() + ")"),
      outcome.err());
    assertTrue(!outcome.err().contains(TestDatabase.settings().password()), outcome.err());
  }

  @Test
  @DisplayName("bad usage exits 64 with a message on stderr and nothing on stdout")
  void badArgumentsExit64() {
    List<List<String>> badUsages = List.of(
      List.of("--no-such-option"),
      List.of("--ids", "100-1"),
      List.of("--duration", "10x"),
      List.of("--scenario", "everything"),
      List.of("--concurrency", "0"),
      List.of("--url", "ftp://example.com"),
      List.of("--no-load"),
      List.of("--db-user", "root"),
      List.of("--no-load", "--db-host", "127.0.0.1", "--db-tls-mode", "verify-ca"),
      List.of("--no-load", "--db-host", "127.0.0.1", "--db-tls-mode", "preferred"));
    for (List<String> args : badUsages) {
      Outcome outcome = diagnose(args);
      assertEquals(64, outcome.exitCode(), args + ": " + outcome.err());
      assertTrue(outcome.out().isEmpty(), args + " printed to stdout: " + outcome.out());
      assertTrue(!outcome.err().isBlank(), args + " explained nothing on stderr");
    }
  }
}

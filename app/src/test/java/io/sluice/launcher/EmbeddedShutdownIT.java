package io.sluice.launcher;

import io.sluice.proxy.db.EmbeddedDatabase;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sluice.jar on its embedded MariaDB, stopped with SIGTERM while requests are in flight: they all get their normal
 * answer, the process exits 0 and leaves no database process behind. The injected latency (every statement first
 * sleeps {@value #LATENCY_MS} ms on the server) keeps them in flight long enough to be seen in {@code /admin/pool}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EmbeddedShutdownIT {

  private static final long LATENCY_MS = 3000;
  private static final String TOKEN = "it-" + UUID.randomUUID();

  private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();
  private static SluiceProcess sluice;

  @BeforeAll
  static void start() {
    sluice = SluiceProcess.start("shutdown", SluiceProcess.freePort(), Map.of(
      "SLUICE_ADMIN_TOKEN", TOKEN,
      "SLUICE_HTTP_REQUEST_TIMEOUT_MS", "9000",
      "SLUICE_DB_STATEMENT_TIMEOUT_MS", "8000",
      "SLUICE_FAULTS_DB_LATENCY_ENABLED", "true",
      "SLUICE_FAULTS_DB_LATENCY_MIN_MS", String.valueOf(LATENCY_MS),
      "SLUICE_FAULTS_DB_LATENCY_MAX_MS", String.valueOf(LATENCY_MS)));
    sluice.awaitUp(client);
  }

  @AfterAll
  static void stop() {
    if (sluice != null) {
      sluice.close();
    }
  }

  @Test
  @Order(1)
  @DisplayName("/admin/config shows the generated database password masked")
  void adminConfigMasksTheGeneratedPassword() throws Exception {
    JsonObject shown = new JsonObject(admin("/admin/config"));
    JsonObject db = shown.getJsonObject("config").getJsonObject("db");
    assertEquals(EmbeddedDatabase.USER, db.getString("user"));
    assertEquals("******", db.getString("password"));
    assertFalse(shown.encode().contains(password()));
  }

  @Test
  @Order(2)
  @DisplayName("SIGTERM with requests in flight: each gets its normal answer, then the process exits 0, database last")
  void sigtermLetsRequestsInFlightFinish() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    // Notification lists: concurrent point reads of users would share one statement and one connection.
    for (int id = 1; id <= 2; id++) {
      inFlight.add(send(HttpRequest.newBuilder(sluice.uri("/users/" + id + "/notifications")).GET()));
    }
    for (int i = 0; i < 2; i++) {
      String body = new JsonObject().put("name", "Ada").put("email", "drain-" + UUID.randomUUID() + "@example.com")
        .encode();
      inFlight.add(send(HttpRequest.newBuilder(sluice.uri("/users"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))));
    }
    SluiceProcess.awaitCondition("4 requests holding a connection", Duration.ofSeconds(30),
      () -> inUse() == inFlight.size());

    sluice.process.destroy(); // SIGTERM

    List<Integer> statuses = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> response : inFlight) {
      statuses.add(response.get().statusCode());
    }
    assertEquals(List.of(200, 200, 201, 201), statuses, sluice.log());
    assertEquals(0, sluice.awaitExit(), sluice.log());
    assertTrue(sluice.databaseProcesses().isEmpty(), "mariadbd still running: " + sluice.databaseProcesses());
    String log = sluice.log();
    int proxyStopped = log.indexOf("Database proxy stopped");
    assertTrue(proxyStopped >= 0 && proxyStopped < log.indexOf("Embedded MariaDB stopped"), log);
  }

  @Test
  @Order(3)
  @DisplayName("the generated password appears nowhere in the service's output")
  void theLogNeverShowsThePassword() throws IOException {
    assertTrue(sluice.log().contains("Embedded MariaDB started"), sluice.log());
    assertFalse(sluice.log().contains(password()), "the log shows the database password");
  }

  private static CompletableFuture<HttpResponse<String>> send(HttpRequest.Builder request) {
    return client.sendAsync(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int inUse() {
    try {
      return new JsonObject(admin("/admin/pool")).getInteger("inUse");
    } catch (IOException e) {
      throw new AssertionError("GET /admin/pool failed: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }

  private static String admin(String path) throws IOException, InterruptedException {
    HttpResponse<String> response = client.send(HttpRequest.newBuilder(sluice.uri(path))
      .header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(10)).build(),
      HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return response.body();
  }

  private static String password() {
    return EmbeddedDatabase.readPassword(sluice.dir.resolve("data").resolve("mariadb"));
  }
}

package io.sluice.launcher;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

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
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sluice.jar on its embedded MariaDB, in a process group of its own, signalled the way a shell's
 * {@code kill -- -PGID} or systemd's {@code KillMode=control-group} signal it: every process of the group at once.
 * The embedded mariadbd runs in a session of its own, so only the service's graceful shutdown stops it; and it still
 * stops when the JVM dies without one. The injected latency ({@value #LATENCY_MS} ms before every statement) keeps
 * requests in flight while the signal arrives.
 */
class GroupSignalIT {

  private static final long LATENCY_MS = 3000;
  private static final String TOKEN = "it-" + UUID.randomUUID();

  private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  @DisplayName("SIGTERM to the whole process group with requests in flight: each gets its normal answer, not 503"
    + " database connection lost; the process exits 0 and no mariadbd is left")
  void sigtermToTheGroupLetsRequestsInFlightFinish() throws Exception {
    try (SluiceProcess sluice = start("group-term")) {
      List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
      // Notification lists: concurrent point reads of users would share one statement and one connection.
      for (int id = 1; id <= 2; id++) {
        inFlight.add(send(HttpRequest.newBuilder(sluice.uri("/users/" + id + "/notifications")).GET()));
      }
      for (int i = 0; i < 2; i++) {
        String body = new JsonObject().put("name", "Ada").put("email", "group-" + UUID.randomUUID() + "@example.com")
          .encode();
        inFlight.add(send(HttpRequest.newBuilder(sluice.uri("/users"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))));
      }
      SluiceProcess.awaitCondition("4 requests holding a connection", Duration.ofSeconds(30),
        () -> inUse(sluice) == inFlight.size());

      sluice.signalGroup("TERM");

      List<String> answers = new ArrayList<>();
      for (CompletableFuture<HttpResponse<String>> response : inFlight) {
        HttpResponse<String> answer = response.get();
        answers.add(answer.statusCode() + (answer.statusCode() >= 400 ? " " + answer.body() : ""));
      }
      assertEquals(List.of("200", "200", "201", "201"), answers, sluice.log());
      assertEquals(0, sluice.awaitExit(), sluice.log());
      assertTrue(sluice.databaseProcesses().isEmpty(), "mariadbd still running: " + sluice.databaseProcesses());
      String log = sluice.log();
      int proxyStopped = log.indexOf("Database proxy stopped");
      assertTrue(proxyStopped >= 0 && proxyStopped < log.indexOf("Embedded MariaDB stopped"), log);
    }
  }

  @Test
  @DisplayName("SIGKILL to the JVM alone (as the OOM killer sends it): mariadbd, in its own session, stops too")
  void theDatabaseStopsWhenTheJvmIsKilled() throws Exception {
    try (SluiceProcess sluice = start("jvm-kill")) {
      List<ProcessHandle> databases = sluice.databaseProcesses();
      assertEquals(1, databases.size(), "mariadbd processes: " + databases);

      sluice.process.destroyForcibly();

      assertNotEquals(0, sluice.awaitExit());
      ProcessHandle database = databases.get(0);
      SluiceProcess.awaitCondition("mariadbd " + database.pid() + " gone", SluiceProcess.EXIT_BOUND,
        () -> !database.isAlive());
      assertTrue(sluice.databaseProcesses().isEmpty(), "mariadbd still running: " + sluice.databaseProcesses());
    }
  }

  private static SluiceProcess start(String name) {
    SluiceProcess sluice = SluiceProcess.startInOwnGroup(name, SluiceProcess.freePort(), Map.of(
      "SLUICE_ADMIN_TOKEN", TOKEN,
      "SLUICE_HTTP_REQUEST_TIMEOUT_MS", "9000",
      "SLUICE_DB_STATEMENT_TIMEOUT_MS", "8000",
      "SLUICE_FAULTS_DB_LATENCY_ENABLED", "true",
      "SLUICE_FAULTS_DB_LATENCY_MIN_MS", String.valueOf(LATENCY_MS),
      "SLUICE_FAULTS_DB_LATENCY_MAX_MS", String.valueOf(LATENCY_MS)));
    try {
      sluice.awaitUp(client);
      return sluice;
    } catch (RuntimeException | AssertionError e) {
      sluice.close();
      throw e;
    }
  }

  private static CompletableFuture<HttpResponse<String>> send(HttpRequest.Builder request) {
    return client.sendAsync(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int inUse(SluiceProcess sluice) {
    try {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(sluice.uri("/admin/pool"))
        .header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      return new JsonObject(response.body()).getInteger("inUse");
    } catch (IOException e) {
      throw new AssertionError("GET /admin/pool failed: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }
}

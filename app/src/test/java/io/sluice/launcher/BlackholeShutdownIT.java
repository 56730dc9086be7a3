package io.sluice.launcher;

import io.sluice.proxy.config.DbSettings;
import io.sluice.proxy.testing.FaultProxy;
import io.sluice.proxy.testing.FaultProxy.Mode;
import io.sluice.proxy.testing.TestDatabase;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sluice.jar against a database host that stops answering without closing TCP (a {@link FaultProxy} in blackhole
 * mode between the service and the test database), then SIGTERM: every request in flight still gets an answer, and
 * the process exits 0 within its shutdown bound ({@link SluiceProcess#EXIT_BOUND} is the liveness bound here, not a
 * speed claim) instead of waiting for the host forever.
 */
class BlackholeShutdownIT {

  private static final String TOKEN = "it-" + UUID.randomUUID();
  private static final long LATENCY_MS = 20_000;

  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();
  private FaultProxy faults;
  private SluiceProcess sluice;

  @AfterEach
  void stop() {
    if (sluice != null) {
      sluice.close();
    }
    if (faults != null) {
      faults.close();
    }
  }

  @Test
  @DisplayName("SIGTERM while the database host is silent: requests in flight are answered, the process exits 0")
  void sigtermDuringBlackholeExits() throws Exception {
    DbSettings db = TestDatabase.settings();
    faults = FaultProxy.start(db.host(), db.port());
    sluice = SluiceProcess.start("blackhole", SluiceProcess.freePort(), Map.of(
      "SLUICE_ADMIN_TOKEN", TOKEN,
      "SLUICE_DB_HOST", "127.0.0.1",
      "SLUICE_DB_PORT", String.valueOf(faults.port()),
      "SLUICE_DB_DATABASE", db.database(),
      "SLUICE_DB_USER", db.user(),
      "SLUICE_DB_PASSWORD", db.password(),
      "SLUICE_FAULTS_DB_LATENCY_ENABLED", "true",
      "SLUICE_FAULTS_DB_LATENCY_MIN_MS", String.valueOf(LATENCY_MS),
      "SLUICE_FAULTS_DB_LATENCY_MAX_MS", String.valueOf(LATENCY_MS)));
    sluice.awaitUp(client);

    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    // Notification lists: concurrent point reads of users would share one statement and one connection.
    for (int id = 1; id <= 2; id++) {
      inFlight.add(client.sendAsync(HttpRequest.newBuilder(sluice.uri("/users/" + id + "/notifications"))
          .header("X-Request-Timeout", "8000").timeout(Duration.ofSeconds(60)).GET().build(),
        HttpResponse.BodyHandlers.ofString()));
    }
    SluiceProcess.awaitCondition("2 requests holding a connection", Duration.ofSeconds(30), () -> inUse() == 2);
    faults.mode(Mode.BLACKHOLE);

    sluice.process.destroy(); // SIGTERM

    for (CompletableFuture<HttpResponse<String>> response : inFlight) {
      int status = response.get().statusCode();
      assertTrue(status == 503 || status == 504, "answered " + status + "\n" + sluice.log());
    }
    assertEquals(0, sluice.awaitExit(), sluice.log());
  }

  private int inUse() {
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

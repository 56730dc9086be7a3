package io.sluice.bench.peer;

import io.sluice.proxy.impl.Sql;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeerConfigTest {

  @Test
  @DisplayName("the arguments the bench passes read back as the same settings, the password from the environment")
  void argumentsRoundTrip() {
    String[] args = {"--port", "8081", "--db-host", "127.0.0.1", "--db-port", "3307", "--pool-max-size", "70",
      "--pool-min-idle", "30", "--cache-ttl-seconds", "600", "--latency-ms", "400-1000"};
    PeerConfig config = PeerConfig.parse(args, Map.of(PeerConfig.PASSWORD_ENV, "secret"));

    assertEquals("secret", config.db().password());
    assertFalse(String.join(" ", config.toArgs()).contains("secret"), "the password is no argument");
    assertEquals(config, PeerConfig.parse(config.toArgs().toArray(String[]::new),
      Map.of(PeerConfig.PASSWORD_ENV, "secret")));
    assertTrue(config.latencyEnabled());
    assertTrue(config.cacheEnabled());
    for (int i = 0; i < 100; i++) {
      double seconds = config.nextLatencySeconds();
      assertTrue(seconds >= 0.4 && seconds <= 1.0, "latency drawn in [0.4, 1.0] s: " + seconds);
    }
  }

  @Test
  @DisplayName("an unknown argument or an inverted latency range is refused, naming it")
  void invalidArgumentsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> PeerConfig.parse(new String[]{"--prot", "1"}, Map.of()));
    assertThrows(IllegalArgumentException.class,
      () -> PeerConfig.parse(new String[]{"--port", "1", "--latency-ms", "900-400"}, Map.of()));
  }

  @Test
  @DisplayName("the peers' settings upsert is the proxy's, character for character")
  void upsertIsTheProxys() throws ReflectiveOperationException {
    // The proxy keeps it package-private in its impl package and does not republish it in ProxyStatements.
    Field proxys = Sql.class.getDeclaredField("UPSERT_SETTINGS");
    proxys.setAccessible(true);

    assertEquals(proxys.get(null), PeerConfig.UPSERT_SETTINGS);
  }

  @Test
  @DisplayName("the direct peer's per-verticle pools sum to the configured size")
  void poolSharesSumToTheTotal() {
    for (int n = 1; n <= 16; n++) {
      int verticles = n;
      assertEquals(70, IntStream.range(0, n).map(i -> DirectPeer.poolShare(70, verticles, i)).sum());
    }
  }
}

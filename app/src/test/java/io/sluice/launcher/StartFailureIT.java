package io.sluice.launcher;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A start that fails exits non-zero and stops what it started, the embedded MariaDB included. */
class StartFailureIT {

  @Test
  @DisplayName("http.port taken: the process exits non-zero naming the port, before it starts the embedded database")
  void aTakenHttpPortExitsNonZeroAndStopsTheDatabase() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
         SluiceProcess sluice = SluiceProcess.start("port-taken", taken.getLocalPort(), Map.of())) {
      int exit = sluice.awaitExit();
      String log = sluice.log();
      assertNotEquals(0, exit, log);
      // Checked before anything slow starts: no database was started for nothing.
      assertTrue(!log.contains("Embedded MariaDB started"), log);
      assertTrue(log.contains("Sluice did not start"), log);
      assertTrue(log.contains("HTTP port") && log.contains(":" + taken.getLocalPort() + " is not available"), log);
      assertTrue(sluice.databaseProcesses().isEmpty(), "mariadbd left running: " + sluice.databaseProcesses());
    }
  }

  @Test
  @DisplayName("a start that fails after the embedded database is up (the capacity guard refuses the pool) exits"
    + " non-zero and no embedded database process is left")
  void aFailureAfterTheDatabaseStartedStopsIt() throws Exception {
    try (SluiceProcess sluice = SluiceProcess.start("pool-refused", SluiceProcess.freePort(),
      Map.of("SLUICE_DB_POOL_MAX_SIZE", "5000"))) {
      int exit = sluice.awaitExit();
      String log = sluice.log();
      assertNotEquals(0, exit, log);
      // The failure came after the database was up: the case where a process used to stay behind.
      assertTrue(log.contains("Embedded MariaDB started"), log);
      assertTrue(log.contains("Sluice did not start"), log);
      assertTrue(sluice.databaseProcesses().isEmpty(), "mariadbd left running: " + sluice.databaseProcesses());
    }
  }
}

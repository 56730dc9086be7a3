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
  @DisplayName("http.port taken: the process exits non-zero and no embedded database process is left")
  void aTakenHttpPortExitsNonZeroAndStopsTheDatabase() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
         SluiceProcess sluice = SluiceProcess.start("port-taken", taken.getLocalPort(), Map.of())) {
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

package io.sluice.proxy.db;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedDatabaseTest {

  @TempDir
  Path dir;

  @Test
  void aTakenPortFailsAtOnceWithAClearMessage() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> EmbeddedDatabase.start(dir, taken.getLocalPort(), "sluice"));
      assertTrue(e.getMessage().contains("already in use"), e.getMessage());
    }
  }
}

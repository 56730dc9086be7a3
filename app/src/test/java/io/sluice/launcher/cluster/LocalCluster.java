package io.sluice.launcher.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.function.BooleanSupplier;

/** What the in-JVM cluster tests of this package share: a loopback port, and polling with a deadline. */
final class LocalCluster {

  /** How long a condition may take on a busy 2-core machine: joins, probes and the shortest grace. */
  static final long BOUND_MS = 60_000;

  private LocalCluster() {
  }

  /** Polls {@code condition} every 50 ms until it holds, or fails after {@link #BOUND_MS}. */
  static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + BOUND_MS * 1_000_000;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not " + what + " within " + BOUND_MS + " ms");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted");
      }
    }
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

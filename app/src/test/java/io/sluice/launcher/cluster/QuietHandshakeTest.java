package io.sluice.launcher.cluster;

import com.hazelcast.core.HazelcastInstance;
import io.sluice.config.JsonSection;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.sluice.launcher.cluster.LocalCluster.BOUND_MS;
import static io.sluice.launcher.cluster.LocalCluster.await;
import static io.sluice.launcher.cluster.LocalCluster.freePort;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link QuietHandshake} on a real member and a real socket: a peer that completes TCP connects but never sends a
 * byte, as the kernel does for a SIGSTOPped member. Hazelcast's stock member runs such a connection in a loop on its
 * IO thread (hazelcast/hazelcast#26473; 19.1 s of CPU in 20 s here); this one parks it. The loop is counted, not
 * timed: each run of the waiting encoder increments {@link QuietHandshake#waitingWrites()}.
 */
class QuietHandshakeTest {

  /** Runs while the test watches: a few per connect; the loop made millions per second. */
  private static final long FEW = 1_000;

  @Test
  @DisplayName("a member connecting to a peer that accepts and stays silent parks the connection (a few encoder runs,"
    + " not a loop) and starts once the peer is gone")
  void aSilentPeerParksTheConnection() throws Exception {
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    List<Socket> held = new CopyOnWriteArrayList<>();
    HazelcastInstance member = null;
    try (ServerSocket silent = new ServerSocket(0, 50, loopback)) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            held.add(silent.accept()); // held open, never read nor written: a frozen process's socket
          }
        } catch (IOException closed) {
          // The test closed the listener.
        }
      }, "silent-peer");
      acceptor.setDaemon(true);
      acceptor.start();

      int port = freePort();
      ClusterSettings settings = ClusterSettings.from(JsonSection.at("cluster", new JsonObject().put("enabled", true)
        .put("role", "proxy").put("name", "quiet-" + ProcessHandle.current().pid() + "-" + System.nanoTime())
        .put("port", port).put("members", "127.0.0.1:" + port + ",127.0.0.1:" + silent.getLocalPort())
        .put("heartbeatTimeoutSeconds", 5)));
      long before = QuietHandshake.waitingWrites();
      // The join waits for the silent address (it could be the master), so the member starts on a thread of its own.
      CompletableFuture<HazelcastInstance> started = CompletableFuture.supplyAsync(
        () -> QuietHandshake.startMember(HazelcastSetup.hazelcastConfig(settings)));

      await("the member connected to the silent peer", () -> !held.isEmpty());
      await("the connection to the silent peer waits in the encoder", () -> QuietHandshake.waitingWrites() > before);
      // The loop, if it came back, would pass FEW within microseconds; the poll gives it a second to show.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      while (System.nanoTime() < deadline && QuietHandshake.waitingWrites() - before < FEW) {
        Thread.onSpinWait();
      }
      long runs = QuietHandshake.waitingWrites() - before;
      assertTrue(runs < FEW, "the waiting encoder ran " + runs + " times: the connection loops");
      assertTrue(!started.isCompletedExceptionally(), "the member failed to start");

      silent.close();
      for (Socket socket : held) {
        socket.close();
      }
      member = started.get(BOUND_MS, TimeUnit.MILLISECONDS);
      assertTrue(member.getLifecycleService().isRunning(), "the member is not running once the peer is gone");
    } finally {
      for (Socket socket : held) {
        socket.close();
      }
      if (member != null) {
        member.shutdown();
      }
    }
  }
}

package io.sluice.launcher.cluster;

import io.vertx.core.Completable;
import io.vertx.core.eventbus.impl.clustered.NodeSelector;
import io.vertx.core.spi.cluster.ClusteredNode;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * {@link TrustedNodeSelector}'s choices over a scripted stand-in for Vert.x's selector (a fixed round-robin over the
 * registrations it is given); its wiring into a real clustered Vert.x is {@link TlsPeerTrustTest}'s.
 */
class TrustedNodeSelectorTest {

  /** Picks the registrations in turn; publishes the distinct nodes among them. */
  private static final class Scripted implements NodeSelector {
    private final List<String> registrations;
    private int turn;
    int sends;

    Scripted(String... registrations) {
      this.registrations = List.of(registrations);
    }

    @Override
    public void init(ClusteredNode clusterManager) {
    }

    @Override
    public void eventBusStarted() {
    }

    @Override
    public void selectForSend(String address, Completable<String> promise) {
      sends++;
      promise.succeed(registrations.isEmpty() ? null : registrations.get(turn++ % registrations.size()));
    }

    @Override
    public void selectForPublish(String address, Completable<Iterable<String>> promise) {
      promise.succeed(registrations.stream().distinct().toList());
    }
  }

  private static PeerTrust counting(Set<String> counted) {
    return new PeerTrust() {
      @Override
      public boolean counts(String nodeId) {
        return counted.contains(nodeId);
      }

      @Override
      public boolean refused(String nodeId) {
        return !counted.contains(nodeId);
      }
    };
  }

  @Test
  @DisplayName("every node counts: the default's choices, one pick per send")
  void countedNodesAreTheDefaultsChoice() {
    Scripted inner = new Scripted("a", "b", "a", "b");
    TrustedNodeSelector selector = new TrustedNodeSelector(inner, PeerTrust.everyone());
    assertEquals(List.of("a", "b", "a", "b"), sends(selector, 4));
    assertEquals(4, inner.sends);
  }

  @Test
  @DisplayName("a node that does not count is never chosen: its turns go round-robin to those that count")
  void nodeThatDoesNotCountIsSkipped() {
    TrustedNodeSelector selector = new TrustedNodeSelector(new Scripted("a", "x", "b", "x", "x", "x"),
      counting(Set.of("a", "b")));
    List<String> chosen = sends(selector, 60);
    assertEquals(0, chosen.stream().filter("x"::equals).count(), chosen.toString());
    long a = chosen.stream().filter("a"::equals).count();
    assertEquals(60, a + chosen.stream().filter("b"::equals).count());
    assertEquals(30, a, "the skipped turns are shared out evenly: " + chosen);
  }

  @Test
  @DisplayName("no node counts: the send resolves to no node, as without registrations (NO_HANDLERS)")
  void noCountedNodeResolvesToNone() {
    TrustedNodeSelector selector = new TrustedNodeSelector(new Scripted("x", "y"), counting(Set.of("a")));
    List<String> chosen = new ArrayList<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    selector.selectForSend("address", (node, err) -> {
      chosen.add(node);
      failure.set(err);
    });
    assertEquals(1, chosen.size());
    assertNull(chosen.get(0));
    assertNull(failure.get());
  }

  @Test
  @DisplayName("a publish reaches only the nodes that count")
  void publishSkipsNodesThatDoNotCount() {
    TrustedNodeSelector selector = new TrustedNodeSelector(new Scripted("a", "x", "b", "y"),
      counting(Set.of("a", "b")));
    List<String> reached = new ArrayList<>();
    selector.selectForPublish("address", (nodes, err) -> nodes.forEach(reached::add));
    assertEquals(List.of("a", "b"), reached);
  }

  private static List<String> sends(TrustedNodeSelector selector, int count) {
    List<String> chosen = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      selector.selectForSend("address", (node, err) -> {
        if (err != null) {
          throw new AssertionError(err);
        }
        chosen.add(node);
      });
    }
    return chosen;
  }
}

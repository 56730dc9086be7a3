package io.sluice.launcher.cluster;

import io.vertx.core.Completable;
import io.vertx.core.eventbus.impl.clustered.DefaultNodeSelector;
import io.vertx.core.eventbus.impl.clustered.NodeSelector;
import io.vertx.core.spi.cluster.ClusteredNode;
import io.vertx.core.spi.cluster.RegistrationUpdateEvent;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The clustered event bus's choice of a node for each message, restricted to nodes that {@link PeerTrust#counts}:
 * any member of the plaintext Hazelcast cluster can register consumers on the proxy address, and the default
 * selector would hand it its round-robin turn of the requests.
 *
 * <p>Vert.x's own {@link DefaultNodeSelector} still keeps the registrations and picks first (weighted round-robin
 * over nodes by their registrations); the common path adds one set lookup to its choice. Only when it picks a node
 * that does not count are the candidates (its publish list: every node with a registration) filtered, and one of
 * those that count is taken in a round-robin of this selector's own, so no loop over the default's turns and no
 * I/O. None counting: the send resolves to no node, exactly as the default does without registrations, so the
 * sender gets {@code NO_HANDLERS} at once instead of a timeout (vert.x 5.0.8 {@code ClusteredEventBus.sendToNode}
 * delivers a null node locally, where no handler exists).
 *
 * <p>Replies never pass here (they go to the node that sent the request), nor {@code localOnly} sends.
 *
 * <p>Vert.x 5.0.x offers no public way to install a selector: {@code NodeSelector} is in an {@code impl} package,
 * set through {@code VertxBootstrapImpl.clusterNodeSelector} (see {@code SluiceVertx.createClustered}); a Vert.x
 * upgrade must keep {@code TrustedNodeSelectorTest} green.
 */
public final class TrustedNodeSelector implements NodeSelector {

  private final NodeSelector delegate;
  private final PeerTrust trust;
  private final AtomicInteger next = new AtomicInteger();

  /** Vert.x's default selector, restricted to the members {@code trust} counts. */
  public TrustedNodeSelector(PeerTrust trust) {
    this(new DefaultNodeSelector(), trust);
  }

  TrustedNodeSelector(NodeSelector delegate, PeerTrust trust) {
    this.delegate = delegate;
    this.trust = trust;
  }

  @Override
  public void init(ClusteredNode clusterManager) {
    delegate.init(clusterManager);
  }

  @Override
  public void eventBusStarted() {
    delegate.eventBusStarted();
  }

  @Override
  public void selectForSend(String address, Completable<String> promise) {
    delegate.selectForSend(address, (nodeId, failure) -> {
      if (failure != null || nodeId == null || trust.counts(nodeId)) {
        promise.complete(nodeId, failure);
        return;
      }
      delegate.selectForPublish(address, (candidates, err) -> {
        if (err != null) {
          promise.fail(err);
          return;
        }
        List<String> counted = counted(candidates);
        promise.succeed(counted.isEmpty() ? null : counted.get(Math.floorMod(next.getAndIncrement(), counted.size())));
      });
    });
  }

  @Override
  public void selectForPublish(String address, Completable<Iterable<String>> promise) {
    delegate.selectForPublish(address, (candidates, err) -> {
      if (err != null) {
        promise.fail(err);
      } else {
        promise.succeed(counted(candidates));
      }
    });
  }

  private List<String> counted(Iterable<String> candidates) {
    List<String> counted = new ArrayList<>();
    if (candidates != null) {
      for (String nodeId : candidates) {
        if (trust.counts(nodeId)) {
          counted.add(nodeId);
        }
      }
    }
    return counted;
  }

  @Override
  public boolean wantsUpdatesFor(String address) {
    return delegate.wantsUpdatesFor(address);
  }

  @Override
  public void registrationsUpdated(RegistrationUpdateEvent event) {
    delegate.registrationsUpdated(event);
  }

  @Override
  public void registrationsLost() {
    delegate.registrationsLost();
  }
}

package io.sluice.launcher.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Completable;
import io.vertx.core.Vertx;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * Vert.x's Hazelcast cluster manager on a member Sluice starts itself ({@link QuietHandshake}: Hazelcast's stock
 * member spins a core on a frozen peer). Vert.x does with a given member what it does with its own, but two things it
 * leaves to the owner of a given member, done here: the Vert.x node id member attribute (set before the member
 * starts, {@link HazelcastSetup#hazelcastConfig}), and the member's shutdown when Vert.x leaves the cluster, after
 * Vert.x's own leave (vertx-hazelcast 5.0.8 {@code HazelcastClusterManager.leave} shuts down only a member it
 * started).
 */
public final class SluiceClusterManager extends HazelcastClusterManager {

  private static final Logger log = LoggerFactory.getLogger(SluiceClusterManager.class);

  private final HazelcastInstance member;
  private volatile Vertx vertx;

  private SluiceClusterManager(HazelcastInstance member) {
    super(member);
    this.member = member;
  }

  /** Starts the member and joins the cluster (blocking: on a plain thread, never an event loop). */
  public static SluiceClusterManager start(Config config) {
    return new SluiceClusterManager(QuietHandshake.startMember(config));
  }

  /** The Vert.x node id attribute a given member must carry ({@code HazelcastClusterManager.join} checks it). */
  static void nameNode(Config config) {
    config.getMemberAttributeConfig().setAttribute(TierMembership.NODE_ID_ATTRIBUTE, UUID.randomUUID().toString());
  }

  @Override
  public void init(Vertx vertx) {
    this.vertx = vertx;
    super.init(vertx);
  }

  @Override
  public void leave(Completable<Void> promise) {
    super.leave((ignored, failure) -> {
      if (failure != null) {
        log.warn("Leaving the cluster failed: {}; shutting the member down anyway", failure.toString());
      }
      Vertx owner = vertx;
      if (owner == null) {
        shutdownMember();
        promise.complete(null, failure);
        return;
      }
      // The graceful shutdown hands this member's partitions to the others: blocking, so on a worker.
      owner.<Void>executeBlocking(() -> {
        shutdownMember();
        return null;
      }, false).onComplete((v, e) -> promise.complete(null, failure != null ? failure : e));
    });
  }

  /** Shuts the member down (blocking). */
  private void shutdownMember() {
    if (member.getLifecycleService().isRunning()) {
      member.getLifecycleService().shutdown();
    }
  }
}

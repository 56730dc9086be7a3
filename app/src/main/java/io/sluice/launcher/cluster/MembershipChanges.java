package io.sluice.launcher.cluster;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent;

import java.util.UUID;

/**
 * Follows a Hazelcast instance's member list for {@link TierMembership} and {@link TlsPeerTrust}: {@code changed}
 * runs (on Hazelcast's threads) when a member joins or leaves and after a split-brain merge, whose member list is
 * another cluster's whatever membership events came with it; {@code shuttingDown} runs when the instance starts
 * to shut down. {@link #close} stops both; from any thread.
 */
final class MembershipChanges implements AutoCloseable {

  private final HazelcastInstance hazelcast;
  private final UUID membershipListener;
  private final UUID lifecycleListener;

  private MembershipChanges(HazelcastInstance hazelcast, Runnable changed, Runnable shuttingDown) {
    this.hazelcast = hazelcast;
    this.membershipListener = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        changed.run();
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        changed.run();
      }
    });
    this.lifecycleListener = hazelcast.getLifecycleService().addLifecycleListener(event -> {
      if (event.getState() == LifecycleEvent.LifecycleState.MERGED) {
        changed.run();
      } else if (event.getState() == LifecycleEvent.LifecycleState.SHUTTING_DOWN) {
        shuttingDown.run();
      }
    });
  }

  static MembershipChanges follow(HazelcastInstance hazelcast, Runnable changed, Runnable shuttingDown) {
    return new MembershipChanges(hazelcast, changed, shuttingDown);
  }

  @Override
  public void close() {
    hazelcast.getCluster().removeMembershipListener(membershipListener);
    hazelcast.getLifecycleService().removeLifecycleListener(lifecycleListener);
  }
}

package io.sluice.launcher.cluster;

/**
 * Which cluster members this node trusts with proxy traffic and counts in the proxy tier's shares. Hazelcast's
 * member port is plaintext and unauthenticated, so membership alone proves nothing: with event-bus TLS on, a member
 * counts only once its event-bus endpoint has proved that it holds a certificate of the cluster's CA.
 *
 * <p>{@link TierMembership} asks it for every member it sees: a member that does not {@link #counts count} gets no
 * share and no seat; a member that is {@link #refused} is not waited for by the growth gate (it is not asked whether
 * it shrank). {@link TrustedNodeSelector} sends to counted members only.
 *
 * <p>Both methods are called on event loops for every clustered send: implementations answer from memory, without
 * I/O or locks.
 */
public interface PeerTrust {

  /**
   * True when the member with this Vert.x node id may count in shares and seats and receive proxy traffic: it proved
   * it holds the cluster's certificate (or event-bus TLS is off, and every member counts). This node always counts.
   */
  boolean counts(String nodeId);

  /** True when the member is definitively untrusted: its event-bus endpoint failed mutual TLS. */
  boolean refused(String nodeId);

  /**
   * Calls {@code listener} (on any thread) whenever {@link #counts} or {@link #refused} changed for some member;
   * never, for a trust that does not change.
   */
  default void onChange(Runnable listener) {
  }

  /** Every member counts, none is refused: event-bus TLS off, where only the network keeps strangers out. */
  static PeerTrust everyone() {
    return new PeerTrust() {
      @Override
      public boolean counts(String nodeId) {
        return true;
      }

      @Override
      public boolean refused(String nodeId) {
        return false;
      }
    };
  }
}

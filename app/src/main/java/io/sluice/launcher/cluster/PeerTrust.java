package io.sluice.launcher.cluster;

/**
 * Which cluster members this node takes into account for the connection budget. {@link TierMembership} asks it for
 * every member it sees: a member that does not {@link #counts count} gets no share and no seat; a member that is
 * {@link #refused} is ignored by the growth gate (it is not asked whether it shrank). {@link #everyone()} until a
 * stricter implementation (peers proven by their event-bus certificate) is handed in.
 */
public interface PeerTrust {

  /** Whether member {@code nodeId} (its Vert.x node id) may count in the shares and seats. */
  boolean counts(String nodeId);

  /** Whether member {@code nodeId} is definitively untrusted: the growth gate does not wait for it. */
  boolean refused(String nodeId);

  /** Every member counts, none is refused. */
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

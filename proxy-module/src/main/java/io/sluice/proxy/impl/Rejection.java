package io.sluice.proxy.impl;

/**
 * Why a request was refused a connection. The labels are stable: they appear in logs, metrics and stats. The
 * ordinals index the shared counters: add new reasons at the end.
 */
enum Rejection {
  QUEUE_FULL("queue_full", false),
  PREDICTED_WAIT("predicted_wait", true),
  DEADLINE_EXPIRED("deadline_expired", true),
  ACQUIRE_TIMEOUT("acquire_timeout", false),
  /** Its predicted wait exceeds {@code db.pool.queueDelayTargetMs} (see {@link AdmissionPolicy}). */
  QUEUE_DELAY("queue_delay", false),
  /** Its lane's recent executions (median) take longer than the request has left. */
  LANE_DEADLINE("lane_deadline", true);

  final String label;
  private final boolean ownDeadline;

  Rejection(String label, boolean ownDeadline) {
    this.label = label;
    this.ownDeadline = ownDeadline;
  }

  /**
   * Whether the refusal came from the request's own remaining time rather than from the pool being full: the same
   * work with a later deadline may still be admitted.
   */
  boolean ownDeadline() {
    return ownDeadline;
  }
}

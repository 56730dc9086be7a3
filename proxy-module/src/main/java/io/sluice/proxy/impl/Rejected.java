package io.sluice.proxy.impl;

/** A failed admission. */
final class Rejected extends RuntimeException {
  final Rejection reason;
  final Lane lane;

  Rejected(Rejection reason, Lane lane) {
    super(reason.label, null, false, false);
    this.reason = reason;
    this.lane = lane;
  }
}

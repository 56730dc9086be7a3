package io.sluice.proxy.impl;

/** A failed admission. */
final class Rejected extends RuntimeException {
  final Rejection reason;

  Rejected(Rejection reason) {
    super(reason.label, null, false, false);
    this.reason = reason;
  }
}

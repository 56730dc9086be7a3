package io.sluice.proxy.impl;

/**
 * The proxy's own statements, for the bench's ceiling scenario: it must issue exactly what {@code GET /users/{id}}
 * runs, and {@link Sql} is package-private. A compile-time constant, so a renamed or removed statement breaks the
 * bench's build rather than silently measuring something else.
 */
public final class BenchStatements {

  /** The primary-key lookup behind {@code GET /users/{id}} and the {@code user.get} action. */
  public static final String SELECT_USER = Sql.SELECT_USER;

  private BenchStatements() {
  }
}

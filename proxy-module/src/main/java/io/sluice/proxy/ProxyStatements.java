package io.sluice.proxy;

import io.sluice.proxy.impl.Sql;

/**
 * The statements of the proxy that a tool outside it must issue exactly as the proxy does; today only the bench's
 * ceiling scenario, which runs the proxy's hot read straight at a pool of its own. They are published here, outside
 * {@code impl}, because nothing outside {@code io.sluice.proxy..} may depend on the implementation package.
 *
 * <p>Each is a compile-time constant taken from the proxy's own {@code Sql}: there is still one place that spells
 * the SQL, and a renamed or removed statement breaks its users' build instead of letting them measure something else.
 */
public final class ProxyStatements {

  /** The primary-key lookup behind {@code GET /users/{id}} and the {@code user.get} action; one {@code ?}: the id. */
  public static final String SELECT_USER = Sql.SELECT_USER;

  private ProxyStatements() {
  }
}

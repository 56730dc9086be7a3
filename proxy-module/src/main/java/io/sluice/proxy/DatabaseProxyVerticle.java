package io.sluice.proxy;

import com.github.benmanes.caffeine.cache.Ticker;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/**
 * A {@link ProxyNode} as one deployable verticle: {@code start()} deploys the node (its own part on this verticle's
 * context, its event loops' consumers as verticle instances of their own), {@code stop()} undeploys it. For callers
 * that manage verticles by deployment id; the launcher uses {@link ProxyNode} directly.
 *
 * <p>Config: the deployment config, as {@link ProxyNode#deploy} reads it. A start that cannot reach the database
 * fails its future with one descriptive log line.
 */
public class DatabaseProxyVerticle extends VerticleBase {

  private final Ticker ticker;
  private ProxyNode node;

  public DatabaseProxyVerticle() {
    this(Ticker.systemTicker());
  }

  /** @param ticker the clock of the caches' TTLs; tests pass one they can advance */
  public DatabaseProxyVerticle(Ticker ticker) {
    this.ticker = ticker;
  }

  @Override
  public Future<?> start() {
    return ProxyNode.deploy(vertx, config(), ticker).onSuccess(started -> node = started);
  }

  /** The node this verticle deployed (null before it started). */
  public ProxyNode node() {
    return node;
  }

  @Override
  public Future<?> stop() {
    return node == null ? Future.succeededFuture() : node.undeploy();
  }
}

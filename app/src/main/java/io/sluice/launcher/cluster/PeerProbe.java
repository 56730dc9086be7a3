package io.sluice.launcher.cluster;

import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;

import javax.net.ssl.SSLException;
import java.security.GeneralSecurityException;
import java.util.concurrent.TimeUnit;

/**
 * One TLS handshake with a peer's event-bus endpoint, made exactly as this node's event bus would connect to it (the
 * same key, certificate and CA, {@code trustAll} false, no hostname verification), and its outcome.
 *
 * <p>Why a completed handshake proves the peer holds the cluster's certificate: Vert.x builds the client's trust
 * managers from the trust options alone when {@code trustAll} is false (vert.x 5.0.8
 * {@code SslContextManager.trustOptionsOf}, lines 176-184), here the cluster's CA, and completes a TLS connect only on
 * a successful {@code SslHandshakeCompletionEvent} ({@code ChannelProvider.initSSL}, lines 119-153): the peer's chain
 * was validated against the CA and the peer proved it holds the certificate's key. Whether the peer accepts this
 * node's certificate in turn (its {@code ClientAuth.REQUIRED}) is its own check of us, not needed to trust it.
 *
 * <p>Outcomes, chosen so that a doubt never refuses a real node (a refusal is final for the member's life):
 * <ul>
 *   <li>{@link Verdict#TRUSTED}: the handshake completed;</li>
 *   <li>{@link Verdict#REFUSED}: TLS itself said no: the peer's certificate failed validation, the peer sent a TLS
 *   alert (it rejected ours: another CA's member), or it answered with bytes that are not TLS;</li>
 *   <li>{@link Verdict#PENDING}: no answer to judge: connection refused or timed out, the handshake timed out (a
 *   frozen process looks the same as a silent plaintext endpoint such as Vert.x's event bus without TLS), or the
 *   connection closed during the handshake (a node shutting down). The caller asks again later.</li>
 * </ul>
 */
final class PeerProbe {

  /** Bound on the TCP connect and, separately, on the TLS handshake of one probe. */
  static final long DEFAULT_TIMEOUT_MS = 5_000;

  enum Verdict { TRUSTED, REFUSED, PENDING }

  /** A probe's verdict and, unless trusted, why (for the log). */
  record Outcome(Verdict verdict, String reason) {

    static Outcome pending(Throwable cause) {
      return new Outcome(Verdict.PENDING, describe(cause));
    }
  }

  private final NetClient client;

  /** A probe client on {@code vertx} from the event bus's own TLS settings ({@code ssl} must be on). */
  PeerProbe(Vertx vertx, EventBusOptions eventBus, long timeoutMs) {
    if (!eventBus.isSsl()) {
      throw new IllegalArgumentException("a peer probe needs event-bus TLS");
    }
    // As ClusteredEventBus builds its own client (vert.x 5.0.8 ClusteredEventBus constructor, lines 72-74): the
    // event-bus options as client options, hostname verification off.
    NetClientOptions options = new NetClientOptions(eventBus.toJson())
      .setHostnameVerificationAlgorithm("")
      .setTrustAll(false)
      .setConnectTimeout((int) timeoutMs)
      .setSslHandshakeTimeout(timeoutMs)
      .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
      .setReconnectAttempts(0);
    this.client = vertx.createNetClient(options);
  }

  /** Connects to {@code host:port}, judges the handshake, and closes the connection. Never fails. */
  Future<Outcome> check(String host, int port) {
    return client.connect(port, host).transform(ar -> {
      if (ar.succeeded()) {
        return ar.result().close().transform(closed -> Future.succeededFuture(new Outcome(Verdict.TRUSTED, "")));
      }
      return Future.succeededFuture(classify(ar.cause()));
    });
  }

  Future<Void> close() {
    return client.close();
  }

  /** See the class comment. Vert.x wraps a failed handshake in an {@code SSLHandshakeException} with its cause. */
  static Outcome classify(Throwable failure) {
    boolean tls = false;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SslHandshakeTimeoutException) {
        return new Outcome(Verdict.PENDING, "TLS handshake timed out");
      }
      if (t instanceof NotSslRecordException) {
        return new Outcome(Verdict.REFUSED, "the endpoint does not speak TLS");
      }
      if (t instanceof GeneralSecurityException) {
        // CertificateException, CertPathValidatorException: the peer's certificate is not of the cluster's CA.
        return new Outcome(Verdict.REFUSED, "its certificate failed validation: " + describe(t));
      }
      tls |= t instanceof SSLException;
    }
    if (tls && !closedDuringHandshake(failure)) {
      // A TLS alert from the peer (it refused our certificate) or a protocol error: it is not one of ours.
      return new Outcome(Verdict.REFUSED, "TLS handshake rejected: " + describe(deepest(failure)));
    }
    return Outcome.pending(deepest(failure));
  }

  /** Netty's way of saying the peer closed the connection before the handshake ended (no alert). */
  private static boolean closedDuringHandshake(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.nio.channels.ClosedChannelException
        || (t.getMessage() != null && t.getMessage().contains("closed while SSL/TLS handshake"))) {
        return true;
      }
    }
    return false;
  }

  private static Throwable deepest(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  private static String describe(Throwable t) {
    return t.getMessage() != null ? t.getClass().getSimpleName() + ": " + t.getMessage() : t.getClass().getSimpleName();
  }
}

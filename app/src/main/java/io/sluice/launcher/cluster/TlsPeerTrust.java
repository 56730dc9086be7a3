package io.sluice.launcher.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import io.netty.util.NetUtil;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.spi.cluster.NodeInfo;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * {@link PeerTrust} with event-bus TLS on: a member counts once its event-bus endpoint completed a TLS handshake
 * with this node's own key, certificate and CA ({@link PeerProbe}), and is refused once TLS rejected it.
 *
 * <p>For every member that appears in Hazelcast's membership (known by its Vert.x node id, the member attribute
 * {@link TierMembership#NODE_ID_ATTRIBUTE}), its endpoint is looked up where the event bus itself looks it up
 * ({@code ClusterManager.getNodeInfo}: vertx-hazelcast reads the {@code __vertx.nodeInfo} map, which a member fills
 * only once its event-bus server listens) and probed. A probe that could not judge (no endpoint published yet, no
 * answer, a timeout) is repeated while the member is present, after {@link #FIRST_RETRY_MS} doubling up to
 * {@link #MAX_RETRY_MS}. A verdict is final for the member's life: a node id belongs to one process, whose event-bus
 * settings never change; a restarted node comes back under a new id and is probed again.
 *
 * <p>Why the probed endpoint is the right one: the event bus sends a member's messages to the endpoint its
 * {@code NodeInfo} names, read when it opens the connection (vert.x 5.0.8 {@code ClusteredEventBus.connect}), with
 * the same TLS client settings. A member that later points its {@code NodeInfo} elsewhere gets its connections
 * through the event bus's own handshake, which fails for an endpoint without the cluster's certificate. The trust is
 * in the endpoint, not in the member: a member without the certificate that published a trusted node's endpoint as
 * its own would pass the probe (its requests would land on that node). A Sluice node binds its member port and its
 * event bus to the one {@code cluster.host}, so an endpoint on another host than the member's address is not probed
 * ({@link #sameHost}): such a copy needs an address on the trusted node's own host.
 *
 * <p>Threads: Hazelcast's listener threads only schedule work on this trust's context; probes, timers and the
 * change listeners run there. {@link #counts} and {@link #refused} read concurrent sets from any thread (the event
 * bus's node selector calls {@code counts} on event loops for every send).
 */
public final class TlsPeerTrust implements PeerTrust {

  /** The first pause before a member is probed again; the common wait is for its node info to be published. */
  static final long FIRST_RETRY_MS = 100;
  /** The longest pause between two probes of a member that stays without a verdict (a silent or frozen endpoint). */
  static final long MAX_RETRY_MS = 5_000;

  private static final Logger log = LoggerFactory.getLogger(TlsPeerTrust.class);

  private final HazelcastClusterManager manager;
  private final EventBusOptions eventBus;
  private final long probeTimeoutMs;
  private final Set<String> trusted = ConcurrentHashMap.newKeySet();
  private final Set<String> refused = ConcurrentHashMap.newKeySet();
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  /** Members present without a verdict yet → their pending retry timer (-1 while a probe runs); on the context. */
  private final Map<String, Long> undecided = new HashMap<>();
  /**
   * Members present without a verdict → the round of probes in force. A member that left and came back (a partition
   * healed) starts a new round; a probe of an earlier round that ends later is ignored, so one member never has two
   * rounds of probes running. On the context.
   */
  private final Map<String, Long> rounds = new HashMap<>();
  private long nextRound;
  /** Probes without a verdict per undecided member, for the backoff; written on the context. */
  private final Map<String, Integer> attempts = new ConcurrentHashMap<>();
  /** The reason of each undecided member's last probe, logged when it changes; on the context. */
  private final Map<String, String> lastReason = new HashMap<>();
  private volatile boolean stopped;
  private Vertx vertx;
  private Context context;
  private PeerProbe probe;
  private HazelcastInstance hazelcast;
  private MembershipChanges memberships;

  /**
   * @param manager  the cluster manager the clustered Vert.x is (or will be) built with
   * @param eventBus the event bus's options, TLS on ({@link HazelcastSetup#eventBusOptions})
   */
  public TlsPeerTrust(HazelcastClusterManager manager, EventBusOptions eventBus) {
    this(manager, eventBus, PeerProbe.DEFAULT_TIMEOUT_MS);
  }

  TlsPeerTrust(HazelcastClusterManager manager, EventBusOptions eventBus, long probeTimeoutMs) {
    this.manager = manager;
    this.eventBus = eventBus;
    this.probeTimeoutMs = probeTimeoutMs;
  }

  /**
   * Starts following the membership on a context of its own, once {@code vertx} (built with this trust's manager)
   * has joined. Completes once every member present at start has been probed once (bounded by two probe timeouts,
   * connect and handshake, plus the node-info lookup), so that a node that just started has its verdicts on the
   * nodes already there before it serves: without them its first requests would find no trusted proxy (503).
   */
  public Future<Void> start(Vertx vertx) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.hazelcast = manager.getHazelcastInstance();
    Promise<Void> started = Promise.promise();
    context.runOnContext(v -> {
      probe = new PeerProbe(vertx, eventBus, probeTimeoutMs);
      // On shutdown Vert.x is closing and leaving the cluster: no more probes or timers on a closing instance.
      memberships = MembershipChanges.follow(hazelcast, this::changed, () -> stopped = true);
      Future.join(reconcile()).onComplete(ar -> started.complete());
    });
    return started.future();
  }

  /** Stops probing (Vert.x closing closes the probe's client too); from any thread. */
  public void stop() {
    stopped = true;
    if (memberships != null) {
      memberships.close();
    }
    if (context != null) {
      run(() -> {
        undecided.values().stream().filter(id -> id >= 0).forEach(vertx::cancelTimer);
        undecided.clear();
        probe.close();
      });
    }
  }

  /**
   * Calls {@code listener} on this trust's context whenever {@link #counts} or {@link #refused} changed for some
   * member: it became trusted or refused, or left with its verdict.
   */
  @Override
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  @Override
  public boolean counts(String nodeId) {
    return trusted.contains(nodeId) || nodeId.equals(manager.getNodeId());
  }

  @Override
  public boolean refused(String nodeId) {
    return refused.contains(nodeId);
  }

  /** How many probes of this member ended without a verdict (0 once it has one, or left). */
  int probesWithoutVerdict(String nodeId) {
    return attempts.getOrDefault(nodeId, 0);
  }

  private void changed() {
    run(() -> reconcile());
  }

  /** Probes members that appeared, forgets those that left; on the context. Returns the probes it started. */
  private List<Future<Void>> reconcile() {
    List<Future<Void>> probes = new ArrayList<>();
    if (stopped) {
      return probes;
    }
    String self = manager.getNodeId();
    Map<String, Member> present = new HashMap<>();
    for (Member member : hazelcast.getCluster().getMembers()) {
      String nodeId = member.getAttribute(TierMembership.NODE_ID_ATTRIBUTE);
      if (nodeId != null && !nodeId.equals(self)) {
        present.put(nodeId, member);
      }
    }
    boolean forgot = trusted.retainAll(present.keySet()) | refused.retainAll(present.keySet());
    undecided.entrySet().removeIf(entry -> {
      if (present.containsKey(entry.getKey())) {
        return false;
      }
      if (entry.getValue() >= 0) {
        vertx.cancelTimer(entry.getValue());
      }
      attempts.remove(entry.getKey());
      lastReason.remove(entry.getKey());
      rounds.remove(entry.getKey());
      return true;
    });
    present.forEach((nodeId, member) -> {
      if (!trusted.contains(nodeId) && !refused.contains(nodeId) && !undecided.containsKey(nodeId)) {
        undecided.put(nodeId, -1L);
        long round = nextRound++;
        rounds.put(nodeId, round);
        probes.add(probe(nodeId, member, round));
      }
    });
    if (forgot) {
      notifyListeners();
    }
    return probes;
  }

  /** One probe of the member; the result completes once its outcome is settled on the context. */
  private Future<Void> probe(String nodeId, Member member, long round) {
    Promise<Void> settled = Promise.promise();
    Promise<NodeInfo> info = Promise.promise();
    manager.getNodeInfo(nodeId, info);
    info.future()
      .compose(node -> sameHost(node.host(), member.getAddress().getHost())
        ? probe.check(node.host(), node.port()).map(outcome -> new Probed(node, outcome))
        : Future.succeededFuture(new Probed(node, new PeerProbe.Outcome(PeerProbe.Verdict.PENDING,
          "its event-bus endpoint is not on its member address " + member.getAddress().getHost()))))
      .otherwise(err -> new Probed(null, PeerProbe.Outcome.pending(err)))
      .onComplete(ar -> run(() -> {
        settle(nodeId, member, round, ar.result());
        settled.complete();
      }));
    return settled.future();
  }

  private record Probed(NodeInfo node, PeerProbe.Outcome outcome) {
  }

  /**
   * Whether two IP literals name the same address (no name is resolved: a host name never matches). A Sluice node
   * binds its member port and its event bus to the one {@code cluster.host}; a member whose published endpoint is on
   * another host may be copying a trusted node's endpoint to be counted as that node, and is not probed.
   */
  static boolean sameHost(String endpointHost, String memberHost) {
    byte[] endpoint = NetUtil.createByteArrayFromIpAddressString(endpointHost);
    byte[] member = NetUtil.createByteArrayFromIpAddressString(memberHost);
    return endpoint != null && Arrays.equals(endpoint, member);
  }

  /** On the context: records a verdict, or schedules the next probe of a member still present. */
  private void settle(String nodeId, Member member, long round, Probed probed) {
    if (stopped || !rounds.containsKey(nodeId) || rounds.get(nodeId) != round) {
      return;
    }
    String where = "member " + nodeId + " (" + member.getAddress() + ", role " + member.getAttribute(
      TierMembership.ROLE_ATTRIBUTE) + (probed.node() == null ? "" : ", event bus " + probed.node().host() + ":"
      + probed.node().port()) + ")";
    switch (probed.outcome().verdict()) {
      case TRUSTED -> {
        undecided.remove(nodeId);
        rounds.remove(nodeId);
        attempts.remove(nodeId);
        lastReason.remove(nodeId);
        trusted.add(nodeId);
        log.info("Peer trusted: {} holds a certificate of the cluster's CA", where);
        notifyListeners();
      }
      case REFUSED -> {
        undecided.remove(nodeId);
        rounds.remove(nodeId);
        attempts.remove(nodeId);
        lastReason.remove(nodeId);
        refused.add(nodeId);
        log.warn("Peer refused: {} failed event-bus TLS ({}); it gets no requests", where,
          probed.outcome().reason());
        notifyListeners();
      }
      case PENDING -> {
        int attempt = attempts.merge(nodeId, 1, Integer::sum);
        long delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS << Math.min(attempt - 1, 16));
        String reason = probed.outcome().reason();
        // Once per reason, then about once a minute: a member that never proves itself is worth a line, not a flood.
        if (!reason.equals(lastReason.put(nodeId, reason)) || delay == MAX_RETRY_MS && attempt % 12 == 0) {
          log.info("Peer not trusted yet: {}: {}; probing again in {} ms", where, reason, delay);
        }
        undecided.put(nodeId, vertx.setTimer(delay, id -> {
          if (!stopped && rounds.containsKey(nodeId) && rounds.get(nodeId) == round) {
            undecided.put(nodeId, -1L);
            probe(nodeId, member, round);
          }
        }));
      }
    }
  }

  private void notifyListeners() {
    for (Runnable listener : listeners) {
      try {
        listener.run();
      } catch (RuntimeException e) {
        log.warn("A peer-trust change listener failed: {}", e.toString());
      }
    }
  }

  private void run(Runnable action) {
    try {
      context.runOnContext(v -> action.run());
    } catch (RuntimeException e) {
      // Vert.x is closing: nothing left to probe.
      log.debug("Peer trust change after close ignored: {}", e.toString());
    }
  }
}

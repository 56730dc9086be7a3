package io.sluice.launcher.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import io.sluice.contract.FailureCode;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntUnaryOperator;
import java.util.function.Supplier;

/**
 * This node's view of the proxy tier, from Hazelcast's membership, and its share of the tier's one connection
 * budget ({@code db.pool.maxSize} in cluster mode): {@link ShareRule} over the nodes that {@link ShareGovernor}
 * counts, so a share shrinks as soon as a proxy node joins and grows only {@code cluster.shareGraceMs} after one
 * left, and only through the growth gate.
 *
 * <h2>The budget bound, and the growth gate that keeps it</h2>
 * Invariant (<b>the budget bound</b>, see {@link GrowthGate}): this node raises its share only after every other
 * live proxy member it sees has answered, within {@link #GATE_TIMEOUT_MS}, that it holds ({@code held}: the sizes of
 * its pool in force and of its old pools still draining) no more than the share this node computes for it, counts
 * this node, and no departed node it still counts may hold more than its share. Shrinking never waits. A node starts
 * at a granted share of 0 and grows through the gate like any other (alone, at once). <b>No growth without a
 * majority</b>: while the last view holds no majority of the last known members ({@link ShareGovernor#majority}; a
 * fresh node's are the seats of {@code cluster.members} and its own), the grant never rises; it keeps its last
 * value or shrinks to the target. So a node restarted inside a minority stays at 0. While growth waits, the gate
 * asks again every {@link #GATE_RETRY_MS} and on every membership change. Each node answers the same question for
 * its peers on {@link ProxyContract#nodeStatsAddress}: {@code held} (with a granted share the proxy has not applied
 * yet counted in), the share applied, the share granted, its roster and the departed nodes it still reserves, each
 * with what it may hold; a node that joined during another's grace adopts those ({@link ShareGovernor#adopt}).
 *
 * <p>The share is handed out as an {@link IntUnaryOperator} (a budget → min(this node's share of it, the share the
 * gate granted)) to the consumer given at construction, once at {@link #start} and again whenever the counted nodes
 * or the grant change. It is immutable and pure, so the proxy may apply it on its own threads to whatever budget a
 * reload brings, without calling back here: a larger budget does not grow the pool before the gate has passed, a
 * smaller one shrinks it at once.
 *
 * <p>Hazelcast calls the membership listener on its own threads; everything else (the governor, the timer, the
 * status replies) runs on the one context given at construction. Membership is read from
 * {@code getCluster().getMembers()}, which every member lists in the same order, oldest first; a member's role is
 * its {@link #ROLE_ATTRIBUTE}.
 *
 * <p>A member is known by its Vert.x node id ({@link #NODE_ID_ATTRIBUTE}), not its Hazelcast UUID: when a partition
 * heals, Hazelcast gives every member of the merging side a new UUID, while the node id, a member attribute from
 * the config, stays. Keyed by UUID, a merged node kept its old UUID as "self", found itself missing from the
 * counted nodes and took a share of 0 (503 for everything), while the others reserved a share for its new UUID.
 * Invariant: {@code self} and the stats address below never change for the life of this process; vertx-hazelcast
 * republishes its own registrations into {@code __vertx.subs} after a merge, so the stats consumer follows. For the
 * majority rule ({@link ShareGovernor}) a member is its seat, its Hazelcast address.
 *
 * <p>On a node that runs the proxy tier it also answers {@link ProxyContract#nodeStatsAddress} for its own member id
 * (a clustered consumer: peers ask it for {@code GET /admin/cluster}); the status asks every live proxy member for its
 * figures, each within {@link #STATS_TIMEOUT_MS}. Invariant: a member that does not answer in time (dead, frozen,
 * still starting, or without the address) is shown with {@code "stats": null}; it never fails or holds up the status
 * beyond that bound.
 */
public final class TierMembership {

  /** Hazelcast member attribute carrying {@code cluster.role} ({@code all}, {@code api}, {@code proxy}). */
  public static final String ROLE_ATTRIBUTE = "sluice.role";

  /**
   * The member attribute in which vertx-hazelcast 5.0.x keeps the Vert.x node id ({@code NODE_ID_ATTRIBUTE}, private
   * there): a random UUID set in the config at join, so it survives a split-brain merge, unlike the member's UUID.
   */
  static final String NODE_ID_ATTRIBUTE = "__vertx.nodeId";

  /** How long the status waits for a proxy member's figures: well inside the HTTP route's 2 s send timeout. */
  static final long STATS_TIMEOUT_MS = 1000;

  /** How long the growth gate waits for a peer's answer; one that does not answer in time holds growth back. */
  static final long GATE_TIMEOUT_MS = 500;

  /** How often the growth gate asks again while the target share is above the granted one. */
  static final long GATE_RETRY_MS = 250;

  private static final Logger log = LoggerFactory.getLogger(TierMembership.class);

  private final Vertx vertx;
  private final Context context;
  private final HazelcastInstance hazelcast;
  private final ClusterSettings settings;
  private final Consumer<IntUnaryOperator> onShare;
  private final Supplier<JsonObject> proxyStats;
  private final ShareGovernor governor;
  private final PeerTrust trust;
  private final String self;
  /** The seats this node expects at start: {@code cluster.members}, resolved, and its own ({@link #expectedSeats}). */
  private final List<String> expectedSeats;
  /** Address and role of every member seen, kept while it counts, for the status of departed ones. */
  private final Map<String, JsonObject> known = new HashMap<>();
  private volatile int budget;
  /** Set by {@link #stop} on the closing thread: a refresh already queued on the context then does nothing. */
  private volatile boolean stopped;
  private List<String> counted = List.of();
  private MembershipChanges memberships;
  private long timerId = -1;
  /** The share the growth gate allowed (0 until the first pass): what the proxy is told it may hold at most. */
  private volatile int granted;
  /** The counted nodes and grant last handed to the proxy. */
  private List<String> handedRoster;
  private int handedGrant = -1;
  /** Departed nodes still counted → the most each may hold: its share when it left, or what it last said it held. */
  private final Map<String, Integer> departedHeld = new HashMap<>();
  /** What each proxy peer last said it held. */
  private final Map<String, Integer> lastHeld = new HashMap<>();
  /** Bumped by every view and budget change: a gate round that saw an older one decides nothing. */
  private long version;
  private boolean asking;
  private long gateTimer = -1;
  private String lastWait;
  private MessageConsumer<JsonObject> statusConsumer;
  private MessageConsumer<JsonObject> configConsumer;
  private MessageConsumer<JsonObject> statsConsumer;

  /**
   * @param budget  {@code db.pool.maxSize} at start; reloads update it
   * @param onShare receives this node's share (a budget → its share), on {@code context}; called only when this
   *                node runs the proxy tier
   */
  public TierMembership(Vertx vertx, Context context, HazelcastInstance hazelcast, ClusterSettings settings,
                        int budget, Consumer<IntUnaryOperator> onShare) {
    this(vertx, context, hazelcast, settings, budget, onShare, () -> null);
  }

  /**
   * As {@link #TierMembership(Vertx, Context, HazelcastInstance, ClusterSettings, int, Consumer)}, with this node's
   * proxy statistics ({@code ProxyNode.stats()}, or null while no proxy is up), served to peers when this node runs
   * the proxy tier; called on {@code context}.
   */
  public TierMembership(Vertx vertx, Context context, HazelcastInstance hazelcast, ClusterSettings settings,
                        int budget, Consumer<IntUnaryOperator> onShare, Supplier<JsonObject> proxyStats) {
    this(vertx, context, hazelcast, settings, budget, onShare, proxyStats, PeerTrust.everyone());
  }

  /**
   * As {@link #TierMembership(Vertx, Context, HazelcastInstance, ClusterSettings, int, Consumer, Supplier)}, with the
   * members that count in the shares and seats, and those the growth gate ignores, decided by {@code trust}.
   */
  public TierMembership(Vertx vertx, Context context, HazelcastInstance hazelcast, ClusterSettings settings,
                        int budget, Consumer<IntUnaryOperator> onShare, Supplier<JsonObject> proxyStats,
                        PeerTrust trust) {
    this.trust = trust;
    this.proxyStats = proxyStats;
    this.vertx = vertx;
    this.context = context;
    this.hazelcast = hazelcast;
    this.settings = settings;
    this.budget = budget;
    this.onShare = onShare;
    this.governor = new ShareGovernor(settings.shareGraceMs());
    this.self = id(hazelcast.getCluster().getLocalMember());
    this.expectedSeats = expectedSeats(settings, seat(hazelcast.getCluster().getLocalMember()));
  }

  /**
   * The seats of {@code cluster.members} as Hazelcast reports members' addresses ({@code ip:port}: names resolved
   * here, once, on the constructing thread, never an event loop), and {@code own}. An entry that does not resolve is
   * left out with a warning: it could never be recognized as a live seat (docs/scale-out.md, "Majority").
   */
  static List<String> expectedSeats(ClusterSettings settings, String own) {
    Set<String> seats = new LinkedHashSet<>();
    seats.add(own);
    for (String member : settings.members()) {
      int colon = member.lastIndexOf(':');
      String host = member.substring(0, colon).replace("[", "").replace("]", "");
      try {
        seats.add(InetAddress.getByName(host).getHostAddress() + member.substring(colon));
      } catch (UnknownHostException e) {
        log.warn("cluster.members entry {} does not resolve: it is not counted among the seats this node expects",
          member);
      }
    }
    return List.copyOf(seats);
  }

  /** Starts following the membership; call on {@code context}. Hands out the first share before it returns. */
  public void start() {
    // A member that proves (or fails to prove) the cluster's certificate changes the seats and shares.
    trust.onChange(this::changed);
    statusConsumer = vertx.eventBus().localConsumer(ProxyContract.CLUSTER_STATUS_ADDRESS,
      message -> status().onComplete(ar -> {
        if (ar.succeeded()) {
          message.reply(ar.result());
        } else {
          message.fail(FailureCode.INTERNAL, "cluster status failed");
          log.warn("GET /admin/cluster failed: {}", ar.cause().toString());
        }
      }));
    if (settings.role().runsProxy()) {
      statsConsumer = vertx.eventBus().consumer(ProxyContract.nodeStatsAddress(self), message -> {
        JsonObject stats = nodeStats();
        if (stats == null) {
          message.fail(FailureCode.DB_UNAVAILABLE, "the proxy of this node is not up");
        } else {
          message.reply(stats);
        }
      });
    }
    configConsumer = vertx.eventBus().localConsumer(ProxyContract.CONFIG_CHANGED_ADDRESS, message -> {
      JsonObject pool = message.body().getJsonObject("config", new JsonObject()).getJsonObject("db", new JsonObject())
        .getJsonObject("pool", new JsonObject());
      budget = pool.getInteger("maxSize", budget);
      refresh();
    });
    memberships = MembershipChanges.follow(hazelcast, this::changed, () -> { });
    governor.expect(expectedSeats, nowMs());
    refresh();
  }

  /** The budget this node last saw ({@code db.pool.maxSize}). */
  public int budget() {
    return budget;
  }

  /** Stops following the membership (before Vert.x closes and the node leaves the cluster); from any thread. */
  public void stop() {
    stopped = true;
    if (memberships != null) {
      memberships.close();
    }
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    if (gateTimer >= 0) {
      vertx.cancelTimer(gateTimer);
    }
    if (statusConsumer != null) {
      statusConsumer.unregister();
      configConsumer.unregister();
    }
    if (statsConsumer != null) {
      statsConsumer.unregister();
    }
  }

  private void changed() {
    try {
      context.runOnContext(v -> refresh());
    } catch (RuntimeException e) {
      // Vert.x is closing: nothing left to share.
      log.debug("Membership change after close ignored: {}", e.toString());
    }
  }

  private void refresh() {
    if (stopped) {
      return;
    }
    version++;
    long now = nowMs();
    Set<Member> members = hazelcast.getCluster().getMembers();
    // Seats are Sluice's own nodes only: an event-bus consumer (role "client", the typed client's example) comes
    // and goes with its own deployments, and a departed seat that never returns would hold the majority back.
    List<ShareGovernor.Member> seen = members.stream().filter(TierMembership::isSluiceNode)
      .filter(m -> trust.counts(id(m)))
      .map(m -> new ShareGovernor.Member(id(m), seat(m), runsProxy(m))).toList();
    long proxies = seen.stream().filter(ShareGovernor.Member::proxy).count();
    members.forEach(m -> known.put(id(m), describe(m)));
    // Before its first view a node has no majority to have lost: it warns only if its first view holds none.
    boolean hadMajority = !governor.viewed() || governor.majority();
    governor.viewMembers(seen, now);
    if (hadMajority != governor.majority()) {
      log.warn(governor.majority() ? "This node sees a majority of the last known members again: {}"
        : "This node sees no majority of the last known members {}: shares will not grow until it does",
        governor.lastKnown());
    }
    List<String> next = governor.counted(now);
    known.keySet().removeIf(id -> !next.contains(id) && members.stream().noneMatch(m -> id(m).equals(id)));
    reserveDeparted(counted, now);
    if (!next.equals(counted)) {
      counted = next;
      log.info("Proxy tier: {} of {} members live, {} counted in the budget; shares of db.pool.maxSize {}: {}",
        proxies, members.size(), next.size(), budget, ShareRule.shares(budget, next));
    }
    if (settings.role().runsProxy()) {
      settle();
    }
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
    }
    long nextChange = governor.nextChangeMs();
    if (nextChange >= 0) {
      timerId = vertx.setTimer(Math.max(1, nextChange - now), id -> {
        timerId = -1;
        refresh();
      });
    }
  }

  /**
   * Keeps what each departed node still counted may hold: its share in the roster it left ({@code before}), or what
   * it last said it held if more (it may have left during a swap). A node that joins later shrinks every share, but
   * a frozen node cannot shrink: the gate holds growth while its reservation exceeds its new share.
   */
  private void reserveDeparted(List<String> before, long now) {
    Map<String, Long> departing = governor.departing(now);
    departedHeld.keySet().retainAll(departing.keySet());
    for (String id : departing.keySet()) {
      if (!departedHeld.containsKey(id) && before.contains(id)) {
        departedHeld.put(id, Math.max(ShareRule.share(budget, before, id), lastHeld.getOrDefault(id, 0)));
      }
    }
    lastHeld.keySet().removeIf(id -> !before.contains(id) && !departing.containsKey(id));
  }

  /**
   * Grants a smaller or equal target at once; a larger one through the gate ({@link #askPeers}). Hands the share
   * to the proxy whenever the counted nodes or the grant changed. On the context.
   */
  private void settle() {
    if (stopped) {
      return;
    }
    int currentBudget = budget;
    boolean grows = GrowthGate.wantsToGrow(currentBudget, counted, self, granted);
    if (!grows || !governor.majority()) {
      if (!grows) {
        granted = ShareRule.share(currentBudget, counted, self);
      }
      // else: no growth without a majority; the grant stays until a view holds one (that view settles again).
      lastWait = null;
      cancelGateTimer();
      hand();
      return;
    }
    if (!asking) {
      askPeers();
    }
    // The roster may have changed while the grant did not (or the gate answered at once: then this is a no-op).
    hand();
  }

  /** Every other live proxy member's answer (or null), then the gate's decision, unless the view changed since. */
  private void askPeers() {
    asking = true;
    long askedAt = version;
    Map<String, Future<JsonObject>> asks = new HashMap<>();
    for (Member member : hazelcast.getCluster().getMembers()) {
      String id = id(member);
      if (runsProxy(member) && !id.equals(self) && !trust.refused(id)) {
        asks.put(id, vertx.eventBus().<JsonObject>request(ProxyContract.nodeStatsAddress(id), new JsonObject(),
            new DeliveryOptions().setSendTimeout(GATE_TIMEOUT_MS))
          .map(reply -> reply.body()).otherwise((JsonObject) null));
      }
    }
    if (asks.isEmpty()) {
      // Alone (or with refused peers only): nobody to wait for.
      asking = false;
      decide(Map.of());
      return;
    }
    Future.join(new ArrayList<>(asks.values())).onComplete(ar -> {
      asking = false;
      if (stopped) {
        return;
      }
      Map<String, GrowthGate.Answer> answers = new HashMap<>();
      int countedBefore = counted.size();
      asks.forEach((id, ask) -> answers.put(id, answer(id, ask.result())));
      if (counted.size() != countedBefore) {
        // Departed nodes adopted from a peer: follow their grace like any other (timer, reservations), ask again.
        refresh();
        return;
      }
      if (askedAt != version) {
        // A membership or budget change meanwhile: the answers may be about another roster.
        settle();
        return;
      }
      decide(answers);
    });
  }

  private void decide(Map<String, GrowthGate.Answer> answers) {
    if (!governor.majority()) {
      // The view lost its majority while the peers answered: no growth (refresh settles the shrink, if any).
      settle();
      return;
    }
    GrowthGate.Decision decision = GrowthGate.decide(budget, counted, self, granted, answers, departedHeld);
    if (!decision.waiting()) {
      if (decision.grant() > granted) {
        log.info("Growth gate passed: every proxy peer holds at most its share; this node's share: {} (was {})",
          decision.grant(), granted);
      }
      granted = decision.grant();
      lastWait = null;
      hand();
      return;
    }
    if (!decision.waitingFor().equals(lastWait)) {
      log.info("This node's share stays at {} (target {}) until the others have shrunk: {}", granted,
        decision.target(), decision.waitingFor());
      lastWait = decision.waitingFor();
    }
    cancelGateTimer();
    gateTimer = vertx.setTimer(GATE_RETRY_MS, t -> {
      gateTimer = -1;
      settle();
    });
  }

  /**
   * A peer's answer for the gate; adopts the departed nodes it still counts (from a peer that counts), so that a
   * node that joined during their grace reserves them too. Null when it did not answer or answered nonsense.
   */
  private GrowthGate.Answer answer(String peer, JsonObject body) {
    if (body == null) {
      return null;
    }
    try {
      return readAnswer(peer, body);
    } catch (RuntimeException e) {
      // A peer of another version, or not a Sluice node: treated as silent, so growth waits for it.
      log.warn("Proxy node {} answered the growth gate with figures this node cannot read ({}): {}", peer,
        e.toString(), body.encode());
      return null;
    }
  }

  private GrowthGate.Answer readAnswer(String peer, JsonObject body) {
    Integer held = body.getInteger("held");
    JsonArray rosterJson = body.getJsonArray("roster");
    if (held == null || rosterJson == null) {
      throw new IllegalArgumentException("held and roster are required");
    }
    List<String> roster = rosterJson.stream().map(String::valueOf).toList();
    lastHeld.put(peer, held);
    JsonArray departing = body.getJsonArray("departing", new JsonArray());
    if (trust.counts(peer)) {
      Set<String> live = new java.util.HashSet<>();
      hazelcast.getCluster().getMembers().forEach(m -> live.add(id(m)));
      long now = nowMs();
      for (Object d : departing) {
        JsonObject departed = (JsonObject) d;
        String id = departed.getString("id");
        long countedForMs = departed.getLong("countedForMs", 0L);
        if (id != null && !live.contains(id) && governor.adopt(id, countedForMs, roster, now)) {
          departedHeld.merge(id, departed.getInteger("held", 0), Math::max);
          log.info("Proxy node {} left before this node joined, and {} still counts it for {} ms: counted here too",
            id, peer, countedForMs);
        }
      }
      List<String> next = governor.counted(now);
      if (!next.equals(counted)) {
        counted = next;
        log.info("Proxy tier: {} counted in the budget; shares of db.pool.maxSize {}: {}", next.size(), budget,
          ShareRule.shares(budget, next));
      }
    }
    return new GrowthGate.Answer(held, roster);
  }

  private void cancelGateTimer() {
    if (gateTimer >= 0) {
      vertx.cancelTimer(gateTimer);
      gateTimer = -1;
    }
  }

  /** Hands the share (min of the rule's and the grant) to the proxy when the counted nodes or the grant changed. */
  private void hand() {
    if (counted.equals(handedRoster) && granted == handedGrant) {
      return;
    }
    handedRoster = counted;
    handedGrant = granted;
    onShare.accept(shareOperator(counted, self, granted));
  }

  private static IntUnaryOperator shareOperator(List<String> counted, String self, int granted) {
    return budget -> Math.min(ShareRule.share(budget, counted, self), granted);
  }

  /**
   * This node's figures for peers: {@code inUse}, {@code waiting}, {@code maxSize} (the share applied) and
   * {@code eventLoops} from the proxy's stats; for the growth gate {@code held} (the pools' sizes, the draining ones
   * included, plus any granted share the proxy has not applied yet: what this node may hold on the server
   * shortly), {@code granted}, {@code roster} (the nodes it counts, oldest first) and {@code departing} (the
   * departed nodes it still counts: {@code id}, {@code countedForMs}, {@code held} it reserves for them). Null while
   * the proxy is not up: the request fails, and a peer's gate waits.
   */
  private JsonObject nodeStats() {
    JsonObject stats = proxyStats.get();
    JsonObject pool = stats == null ? null : stats.getJsonObject("pool");
    if (pool == null) {
      return null;
    }
    int applied = pool.getInteger("maxSize");
    int held = pool.getInteger("held", applied) + Math.max(0, granted - applied);
    long now = nowMs();
    List<String> roster = governor.counted(now);
    JsonArray departing = new JsonArray();
    governor.departing(now).forEach((id, until) -> departing.add(new JsonObject().put("id", id)
      .put("countedForMs", Math.max(0, until - now))
      .put("held", departedHeld.getOrDefault(id, ShareRule.share(budget, roster, id)))));
    return new JsonObject().put("inUse", pool.getInteger("inUse")).put("waiting", pool.getInteger("waiting"))
      .put("maxSize", applied).put("eventLoops", pool.getInteger("eventLoops"))
      .put("held", held).put("granted", granted).put("roster", new JsonArray(roster)).put("departing", departing);
  }

  /** Every live proxy member's figures, each or null within {@link #STATS_TIMEOUT_MS}; then the view. */
  Future<JsonObject> status() {
    Map<String, Future<JsonObject>> asks = new HashMap<>();
    for (Member member : hazelcast.getCluster().getMembers()) {
      if (runsProxy(member)) {
        String id = id(member);
        asks.put(id, vertx.eventBus().<JsonObject>request(ProxyContract.nodeStatsAddress(id), new JsonObject(),
            new DeliveryOptions().setSendTimeout(STATS_TIMEOUT_MS))
          .map(reply -> reply.body()).otherwise((JsonObject) null));
      }
    }
    return Future.join(new ArrayList<>(asks.values())).transform(ar -> Future.succeededFuture(view(asks)));
  }

  /**
   * {@code GET /admin/cluster}: members oldest first with their roles, shares and figures ({@code stats}, null for a
   * proxy member that did not answer or joined after the asks), and this node's share.
   */
  private JsonObject view(Map<String, Future<JsonObject>> asks) {
    long now = nowMs();
    List<String> nowCounted = governor.counted(now);
    int currentBudget = budget;
    Map<String, Integer> shares = ShareRule.shares(currentBudget, nowCounted);
    JsonArray members = new JsonArray();
    for (Member member : hazelcast.getCluster().getMembers()) {
      String id = id(member);
      JsonObject described = describe(member).put("self", id.equals(self)).put("share", shares.get(id));
      if (runsProxy(member)) {
        Future<JsonObject> ask = asks.get(id);
        JsonObject stats = ask == null ? null : ask.result();
        described.put("stats", stats == null ? null : new JsonObject().put("inUse", stats.getValue("inUse"))
          .put("waiting", stats.getValue("waiting")).put("maxSize", stats.getValue("maxSize"))
          .put("eventLoops", stats.getValue("eventLoops")).put("held", stats.getValue("held"))
          .put("granted", stats.getValue("granted")));
      }
      members.add(described);
    }
    JsonArray departing = new JsonArray();
    governor.departing(now).forEach((id, until) -> departing.add(known.getOrDefault(id, new JsonObject().put("id", id))
      .copy().put("share", shares.get(id)).put("countedForMs", Math.max(0, until - now))
      .put("reserved", departedHeld.getOrDefault(id, shares.get(id)))));
    return new JsonObject()
      .put("name", settings.name())
      .put("self", self)
      .put("role", settings.role().label())
      .put("budget", currentBudget)
      .put("shareGraceMs", settings.shareGraceMs())
      .put("share", settings.role().runsProxy() ? shares.getOrDefault(self, 0) : null)
      .put("granted", settings.role().runsProxy() ? granted : null)
      .put("members", members)
      .put("departing", departing)
      .put("majority", governor.majority())
      .put("lastKnown", new JsonArray(governor.lastKnown()));
  }

  private static JsonObject describe(Member member) {
    return new JsonObject()
      .put("id", id(member))
      .put("address", seat(member))
      .put("role", String.valueOf(member.getAttribute(ROLE_ATTRIBUTE)));
  }

  /** The Vert.x node id, stable across merges; the UUID for a member without one (not a Vert.x node). */
  private static String id(Member member) {
    String nodeId = member.getAttribute(NODE_ID_ATTRIBUTE);
    return nodeId != null ? nodeId : member.getUuid().toString();
  }

  private static String seat(Member member) {
    return member.getAddress().getHost() + ":" + member.getAddress().getPort();
  }

  private static boolean isSluiceNode(Member member) {
    String role = member.getAttribute(ROLE_ATTRIBUTE);
    for (ClusterSettings.Role r : ClusterSettings.Role.values()) {
      if (r.label().equals(role)) {
        return true;
      }
    }
    return false;
  }

  private static boolean runsProxy(Member member) {
    String role = member.getAttribute(ROLE_ATTRIBUTE);
    return ClusterSettings.Role.PROXY.label().equals(role) || ClusterSettings.Role.ALL.label().equals(role);
  }

  private static long nowMs() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
  }
}

package io.sluice.launcher.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import io.sluice.contract.ProxyContract;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntUnaryOperator;

/**
 * This node's view of the proxy tier, from Hazelcast's membership, and its share of the tier's one connection
 * budget ({@code db.pool.maxSize} in cluster mode): {@link ShareRule} over the nodes that {@link ShareGovernor}
 * counts, so a share shrinks as soon as a proxy node joins and grows only {@code cluster.shareGraceMs} after one
 * left.
 *
 * <p>The share is handed out as an {@link IntUnaryOperator} (a budget → this node's share of it) to the consumer
 * given at construction, once at {@link #start} and again whenever the counted nodes change. It is immutable and
 * pure, so the proxy may apply it on its own threads to whatever budget a reload brings, without calling back here.
 *
 * <p>Hazelcast calls the membership listener on its own threads; everything else (the governor, the timer, the
 * status replies) runs on the one context given at construction. Membership is read from
 * {@code getCluster().getMembers()}, which every member lists in the same order, oldest first; a member's role is
 * its {@link #ROLE_ATTRIBUTE}.
 */
public final class TierMembership {

  /** Hazelcast member attribute carrying {@code cluster.role} ({@code all}, {@code api}, {@code proxy}). */
  public static final String ROLE_ATTRIBUTE = "sluice.role";

  private static final Logger log = LoggerFactory.getLogger(TierMembership.class);

  private final Vertx vertx;
  private final Context context;
  private final HazelcastInstance hazelcast;
  private final ClusterSettings settings;
  private final Consumer<IntUnaryOperator> onShare;
  private final ShareGovernor governor;
  private final String self;
  /** Address and role of every member seen, kept while it counts, for the status of departed ones. */
  private final Map<String, JsonObject> known = new HashMap<>();
  private volatile int budget;
  /** Set by {@link #stop} on the closing thread: a refresh already queued on the context then does nothing. */
  private volatile boolean stopped;
  private List<String> counted = List.of();
  private UUID listener;
  private long timerId = -1;
  private MessageConsumer<JsonObject> statusConsumer;
  private MessageConsumer<JsonObject> configConsumer;

  /**
   * @param budget  {@code db.pool.maxSize} at start; reloads update it
   * @param onShare receives this node's share (a budget → its share), on {@code context}; called only when this
   *                node runs the proxy tier
   */
  public TierMembership(Vertx vertx, Context context, HazelcastInstance hazelcast, ClusterSettings settings,
                        int budget, Consumer<IntUnaryOperator> onShare) {
    this.vertx = vertx;
    this.context = context;
    this.hazelcast = hazelcast;
    this.settings = settings;
    this.budget = budget;
    this.onShare = onShare;
    this.governor = new ShareGovernor(settings.shareGraceMs());
    this.self = hazelcast.getCluster().getLocalMember().getUuid().toString();
  }

  /** Starts following the membership; call on {@code context}. Hands out the first share before it returns. */
  public void start() {
    statusConsumer = vertx.eventBus().localConsumer(ProxyContract.CLUSTER_STATUS_ADDRESS,
      message -> message.reply(status()));
    configConsumer = vertx.eventBus().localConsumer(ProxyContract.CONFIG_CHANGED_ADDRESS, message -> {
      JsonObject pool = message.body().getJsonObject("config", new JsonObject()).getJsonObject("db", new JsonObject())
        .getJsonObject("pool", new JsonObject());
      budget = pool.getInteger("maxSize", budget);
    });
    listener = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        changed();
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        changed();
      }
    });
    refresh();
  }

  /** The budget this node last saw ({@code db.pool.maxSize}). */
  public int budget() {
    return budget;
  }

  /** Stops following the membership (before Vert.x closes and the node leaves the cluster); from any thread. */
  public void stop() {
    stopped = true;
    if (listener != null) {
      hazelcast.getCluster().removeMembershipListener(listener);
    }
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    if (statusConsumer != null) {
      statusConsumer.unregister();
      configConsumer.unregister();
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
    long now = nowMs();
    Set<Member> members = hazelcast.getCluster().getMembers();
    List<String> proxies = members.stream().filter(TierMembership::runsProxy).map(m -> m.getUuid().toString())
      .toList();
    members.forEach(m -> known.put(m.getUuid().toString(), describe(m)));
    governor.view(proxies, now);
    List<String> next = governor.counted(now);
    known.keySet().removeIf(id -> !next.contains(id) && members.stream().noneMatch(m -> m.getUuid().toString()
      .equals(id)));
    if (!next.equals(counted)) {
      counted = next;
      log.info("Proxy tier: {} of {} members live, {} counted in the budget; shares of db.pool.maxSize {}: {}",
        proxies.size(), members.size(), next.size(), budget, ShareRule.shares(budget, next));
      if (settings.role().runsProxy()) {
        onShare.accept(shareOperator(next, self));
      }
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

  private static IntUnaryOperator shareOperator(List<String> counted, String self) {
    return budget -> ShareRule.share(budget, counted, self);
  }

  /** {@code GET /admin/cluster}: members oldest first with their roles and shares, and this node's share. */
  JsonObject status() {
    long now = nowMs();
    List<String> nowCounted = governor.counted(now);
    int currentBudget = budget;
    Map<String, Integer> shares = ShareRule.shares(currentBudget, nowCounted);
    JsonArray members = new JsonArray();
    for (Member member : hazelcast.getCluster().getMembers()) {
      String id = member.getUuid().toString();
      members.add(describe(member).put("self", id.equals(self)).put("share", shares.get(id)));
    }
    JsonArray departing = new JsonArray();
    governor.departing(now).forEach((id, until) -> departing.add(known.getOrDefault(id, new JsonObject().put("id", id))
      .copy().put("share", shares.get(id)).put("countedForMs", Math.max(0, until - now))));
    return new JsonObject()
      .put("name", settings.name())
      .put("self", self)
      .put("role", settings.role().label())
      .put("budget", currentBudget)
      .put("shareGraceMs", settings.shareGraceMs())
      .put("share", settings.role().runsProxy() ? shares.getOrDefault(self, 0) : null)
      .put("members", members)
      .put("departing", departing);
  }

  private static JsonObject describe(Member member) {
    return new JsonObject()
      .put("id", member.getUuid().toString())
      .put("address", member.getAddress().getHost() + ":" + member.getAddress().getPort())
      .put("role", String.valueOf(member.getAttribute(ROLE_ATTRIBUTE)));
  }

  private static boolean runsProxy(Member member) {
    String role = member.getAttribute(ROLE_ATTRIBUTE);
    return ClusterSettings.Role.PROXY.label().equals(role) || ClusterSettings.Role.ALL.label().equals(role);
  }

  private static long nowMs() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
  }
}

package io.sluice.launcher.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.instance.EndpointQualifier;
import com.hazelcast.instance.impl.DefaultNodeContext;
import com.hazelcast.instance.impl.DefaultNodeExtension;
import com.hazelcast.instance.impl.HazelcastInstanceFactory;
import com.hazelcast.instance.impl.Node;
import com.hazelcast.instance.impl.NodeExtension;
import com.hazelcast.internal.networking.Channel;
import com.hazelcast.internal.networking.ChannelInitializer;
import com.hazelcast.internal.networking.ChannelOption;
import com.hazelcast.internal.networking.HandlerStatus;
import com.hazelcast.internal.server.ServerContext;
import com.hazelcast.internal.server.tcp.ChannelInitializerFunction;
import com.hazelcast.internal.server.tcp.UnifiedProtocolDecoder;
import com.hazelcast.internal.server.tcp.UnifiedProtocolEncoder;
import com.hazelcast.spi.properties.ClusterProperty;
import com.hazelcast.spi.properties.HazelcastProperties;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * A Hazelcast member whose connections wait for a silent peer's handshake without spinning a core.
 *
 * <p><b>The defect</b> (Hazelcast 5.3.8, and 5.7.0 unchanged; hazelcast/hazelcast#26473). A member that connects to
 * a peer queues its handshake frame at once, then waits for the peer's protocol bytes. While it waits, the
 * connection's protocol encoder ({@code UnifiedProtocolEncoder.onWrite}) answers {@code CLEAN} without taking the
 * queued frame; the outbound pipeline, finding frames still queued after a clean run, puts itself straight back on
 * its IO thread's task queue ({@code NioOutboundPipeline.postProcessClean}), and that thread drains its queue before
 * it selects again. So the thread runs the same pipeline in a loop until the peer answers or the connection closes.
 * A frozen member (SIGSTOP, a long GC pause) never answers, yet its kernel completes every TCP connect into the
 * listen backlog: every member that connects to it (the master looking for split clusters once per heartbeat
 * timeout, a node joining with it on its member list) burns a core, and every other connection of that IO thread
 * stops being served. Measured here on 2026-12-07: one member with a silent listener on its member list, 19.1 s of
 * CPU in 20 s on {@code IO.thread-out-0}; on the 2-core build machine six members lost each other's heartbeats and
 * the cluster split (docs/scale-out.md, "Routing and failure").
 *
 * <p><b>The mend.</b> The same encoder and decoder, but while the encoder waits for the peer it answers
 * {@code BLOCKED}, the status the pipeline defines for exactly this: the pipeline parks (no write interest, off the
 * task queue), and the decoder's signal that the peer's protocol arrived ({@code signalProtocolEstablished},
 * {@code signalEncoderCanReplace}, both ending in {@code OutboundPipeline.wakeup()}) schedules it again. Hazelcast's
 * own {@code SingleProtocolEncoder} waits the same way. The channel options are Hazelcast's
 * ({@code UnifiedChannelInitializer}). It is installed through the public {@link HazelcastInstanceFactory} entry
 * that takes a {@code NodeContext}; Vert.x then gets the started member ({@link SluiceClusterManager}).
 *
 * <p>Only the unified (non-advanced) network is covered; {@link HazelcastSetup} configures no other.
 */
public final class QuietHandshake {

  private static final LongAdder WAITING_WRITES = new LongAdder();

  private QuietHandshake() {
  }

  /** Starts a member on {@code config} (blocking: joins the cluster; never on an event loop). */
  public static HazelcastInstance startMember(Config config) {
    return HazelcastInstanceFactory.newHazelcastInstance(config, config.getInstanceName(), new DefaultNodeContext() {
      @Override
      public NodeExtension createNodeExtension(Node node) {
        return new DefaultNodeExtension(node) {
          @Override
          public Function<EndpointQualifier, ChannelInitializer> createChannelInitializerFn(ServerContext context) {
            ChannelInitializerFunction initializers = new ChannelInitializerFunction(context, node.getConfig()) {
              @Override
              protected ChannelInitializer provideUnifiedChannelInitializer() {
                return channel -> initChannel(context, channel);
              }
            };
            initializers.init();
            return initializers;
          }
        };
      }
    });
  }

  /**
   * How many times, in this JVM, an encoder was run while it waited for its peer's protocol: a few per connection
   * (each connect, each wake-up); the defect made it millions per second. For the test that pins the mend.
   */
  static long waitingWrites() {
    return WAITING_WRITES.sum();
  }

  private static void initChannel(ServerContext context, Channel channel) {
    HazelcastProperties props = context.properties();
    channel.options()
      .setOption(ChannelOption.DIRECT_BUF, props.getBoolean(ClusterProperty.SOCKET_BUFFER_DIRECT))
      .setOption(ChannelOption.TCP_NODELAY, props.getBoolean(ClusterProperty.SOCKET_NO_DELAY))
      .setOption(ChannelOption.SO_KEEPALIVE, props.getBoolean(ClusterProperty.SOCKET_KEEP_ALIVE))
      .setOption(ChannelOption.SO_SNDBUF, props.getInteger(ClusterProperty.SOCKET_SEND_BUFFER_SIZE) * 1024)
      .setOption(ChannelOption.SO_RCVBUF, props.getInteger(ClusterProperty.SOCKET_RECEIVE_BUFFER_SIZE) * 1024)
      .setOption(ChannelOption.SO_LINGER, props.getSeconds(ClusterProperty.SOCKET_LINGER_SECONDS))
      .setOption(ChannelOption.TCP_KEEPIDLE, props.getInteger(ClusterProperty.SOCKET_KEEP_IDLE))
      .setOption(ChannelOption.TCP_KEEPCOUNT, props.getInteger(ClusterProperty.SOCKET_KEEP_COUNT))
      .setOption(ChannelOption.TCP_KEEPINTERVAL, props.getInteger(ClusterProperty.SOCKET_KEEP_INTERVAL));
    WaitingEncoder encoder = new WaitingEncoder(context);
    channel.outboundPipeline().addLast(encoder);
    channel.inboundPipeline().addLast(new UnifiedProtocolDecoder(context, encoder));
  }

  /**
   * Hazelcast's protocol encoder, parked while it waits. A {@code CLEAN} run that did not replace the encoder (a
   * replacement restarts the pipeline and discards this status) means it waits: for the peer's protocol (accepting
   * side) or for the go-ahead to replace itself (connecting side, {@code signalEncoderCanReplace}). Races with the signal
   * are the pipeline's: a wake-up during this run turns the blocked state into a new run
   * ({@code NioOutboundPipeline.postProcessBlocked}, state {@code RESCHEDULE}); one after it finds {@code BLOCKED}
   * and schedules the pipeline.
   */
  private static final class WaitingEncoder extends UnifiedProtocolEncoder {

    private volatile boolean canReplace;

    WaitingEncoder(ServerContext context) {
      super(context);
    }

    @Override
    public HandlerStatus onWrite() {
      HandlerStatus status = super.onWrite();
      if (status == HandlerStatus.CLEAN && !canReplace) {
        WAITING_WRITES.increment();
        return HandlerStatus.BLOCKED;
      }
      return status;
    }

    @Override
    public void signalEncoderCanReplace() {
      canReplace = true;
      super.signalEncoderCanReplace();
    }
  }
}

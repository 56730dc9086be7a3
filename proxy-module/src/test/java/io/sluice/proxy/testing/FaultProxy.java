package io.sluice.proxy.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy between the service and its database that misbehaves on command, so tests meet the faults of real
 * networks with real sockets. Point {@code db.host}/{@code db.port} at {@link #port()}.
 *
 * <ul>
 *   <li>{@link Mode#PASS}: bytes flow both ways.</li>
 *   <li>{@link Mode#BLACKHOLE}: a host that stopped answering. Every socket stays open, nothing is forwarded and
 *   nothing is closed, in either direction; new connections are accepted and held the same way. What was held is
 *   delivered when the mode changes back to {@code PASS} (a partition that heals within TCP's retransmission time, or
 *   a frozen server that resumes).</li>
 *   <li>{@link Mode#RESET}: a database restart. Every open connection is reset (RST, SO_LINGER 0) at once, and new
 *   ones are reset as soon as they are accepted.</li>
 *   <li>{@link Mode#DELAY}: each chunk of bytes is forwarded {@link #delay(Duration)} late.</li>
 * </ul>
 *
 * <p>Apart from the mode, {@link #refuseRollbacks(boolean)}: a database whose ROLLBACK fails. Each ROLLBACK the
 * client sends is answered with an error and never reaches the server, so the server's transaction stays open on a
 * connection that is otherwise fine (MySQL protocol: a {@code COM_QUERY "ROLLBACK"} packet, in plain text).
 *
 * <p>One connection can also be given its own mode ({@link #mode(int, Mode)}), by the order the proxy accepted it:
 * e.g. black-hole only the first connection a service opened.
 *
 * <p>Blocking sockets and two daemon threads per connection (one per direction): simple, and plenty for tests.
 */
public final class FaultProxy implements AutoCloseable {

  /** What the proxy does to traffic; see the class comment. */
  public enum Mode { PASS, BLACKHOLE, RESET, DELAY }

  private final ServerSocketChannel server;
  private final InetSocketAddress target;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final List<Link> accepted = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();
  /** Guarded by {@link #lock}. */
  private Mode mode = Mode.PASS;
  private long delayMs;
  private volatile boolean refuseRollbacks;
  private volatile boolean closed;

  private FaultProxy(ServerSocketChannel server, InetSocketAddress target) {
    this.server = server;
    this.target = target;
  }

  /** Listens on an ephemeral port of 127.0.0.1, forwarding to {@code targetHost:targetPort}, in {@code PASS}. */
  public static FaultProxy start(String targetHost, int targetPort) {
    try {
      ServerSocketChannel server = ServerSocketChannel.open();
      server.bind(new InetSocketAddress("127.0.0.1", 0));
      FaultProxy proxy = new FaultProxy(server, new InetSocketAddress(targetHost, targetPort));
      daemon("fault-proxy-accept", proxy::acceptLoop).start();
      return proxy;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return server.socket().getLocalPort();
  }

  /** Switches the mode; {@code RESET} resets every open connection before it returns. */
  public void mode(Mode next) {
    synchronized (lock) {
      mode = next;
      lock.notifyAll();
    }
    if (next == Mode.RESET) {
      links.forEach(Link::reset);
    }
  }

  /**
   * Overrides the mode of one connection, the {@code index}-th the proxy accepted (from 0); {@code null} returns it
   * to the proxy's mode. {@code RESET} resets it at once.
   */
  public void mode(int index, Mode own) {
    Link link = accepted.get(index);
    synchronized (lock) {
      link.own = own;
      lock.notifyAll();
    }
    if (own == Mode.RESET) {
      link.reset();
    }
  }

  /** {@link Mode#DELAY} with this much delay per forwarded chunk. */
  public void delay(Duration delay) {
    synchronized (lock) {
      delayMs = delay.toMillis();
    }
    mode(Mode.DELAY);
  }

  /**
   * While on, every ROLLBACK is answered with error 1180 (ER_ERROR_DURING_ROLLBACK) by the proxy, and not sent to
   * the server: its transaction stays open.
   */
  public void refuseRollbacks(boolean on) {
    refuseRollbacks = on;
  }

  /**
   * {@link Mode#DELAY} of {@code delay} per forwarded chunk for the {@code index}-th connection only (the delay is
   * the proxy's one setting: do not combine with {@link #delay(Duration)}).
   */
  public void delay(int index, Duration delay) {
    synchronized (lock) {
      delayMs = delay.toMillis();
    }
    mode(index, Mode.DELAY);
  }

  /** Client connections open through the proxy (held ones included). */
  public int connections() {
    return links.size();
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    synchronized (lock) {
      lock.notifyAll();
    }
    links.forEach(Link::reset);
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Link link = new Link(server.accept());
        links.add(link);
        accepted.add(link);
        daemon("fault-proxy-link", link::open).start();
      } catch (IOException e) {
        if (!closed) {
          throw new UncheckedIOException(e);
        }
      }
    }
  }

  /** Blocks while {@code link} is black-holed; returns the mode that let it through. */
  private Mode gate(Link link) {
    synchronized (lock) {
      while (link.mode() == Mode.BLACKHOLE && !closed) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return Mode.RESET;
        }
      }
      return closed ? Mode.RESET : link.mode();
    }
  }

  private long delayMs() {
    synchronized (lock) {
      return delayMs;
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    return thread;
  }

  /** One client connection and, once the mode lets it through, its connection to the target. */
  private final class Link {
    private final SocketChannel client;
    private volatile SocketChannel upstream;
    /** Guarded by {@link FaultProxy#lock}; null: the proxy's mode. */
    private Mode own;

    Mode mode() {
      return own != null ? own : mode;
    }

    Link(SocketChannel client) {
      this.client = client;
    }

    void open() {
      if (gate(this) == Mode.RESET) {
        reset();
        return;
      }
      try {
        upstream = SocketChannel.open(target);
      } catch (IOException e) {
        reset();
        return;
      }
      daemon("fault-proxy-up", () -> pump(client, upstream, true)).start();
      pump(upstream, client, false);
    }

    private void pump(SocketChannel from, SocketChannel to, boolean fromClient) {
      ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
      try {
        while (true) {
          buffer.clear();
          int read = from.read(buffer);
          Mode through = gate(this);
          if (through == Mode.RESET) {
            reset();
            return;
          }
          if (read < 0) {
            break;
          }
          if (through == Mode.DELAY) {
            // The fault itself, not synchronization: this direction is slow by design.
            Thread.sleep(delayMs());
          }
          buffer.flip();
          if (fromClient && refuseRollbacks && isRollback(buffer)) {
            write(from, rollbackError(buffer.get(3)));
            continue;
          }
          write(to, buffer);
        }
      } catch (IOException | InterruptedException e) {
        // the other side or a reset closed the link
      }
      closeQuietly();
    }

    /** Whole buffers only, and one writer at a time: a refused ROLLBACK is answered from the other direction. */
    private static void write(SocketChannel to, ByteBuffer buffer) throws IOException {
      synchronized (to) {
        while (buffer.hasRemaining()) {
          to.write(buffer);
        }
      }
    }

    /** One whole {@code COM_QUERY "ROLLBACK"} packet: 3 bytes of length, a sequence byte, 0x03, the text. */
    private static boolean isRollback(ByteBuffer buffer) {
      byte[] text = "ROLLBACK".getBytes(StandardCharsets.US_ASCII);
      if (buffer.remaining() != 5 + text.length) {
        return false;
      }
      int length = (buffer.get(0) & 0xff) | (buffer.get(1) & 0xff) << 8 | (buffer.get(2) & 0xff) << 16;
      if (length != 1 + text.length || buffer.get(4) != 0x03) {
        return false;
      }
      for (int i = 0; i < text.length; i++) {
        if (buffer.get(5 + i) != text[i]) {
          return false;
        }
      }
      return true;
    }

    /** The server's ERR packet for a command of sequence {@code seq}: 1180, SQLSTATE HY000. */
    private static ByteBuffer rollbackError(byte seq) {
      byte[] message = "Got error 1 during ROLLBACK (refused by FaultProxy)".getBytes(StandardCharsets.US_ASCII);
      ByteBuffer payload = ByteBuffer.allocate(4 + 9 + message.length);
      int length = 9 + message.length;
      payload.put((byte) length).put((byte) (length >> 8)).put((byte) (length >> 16)).put((byte) (seq + 1));
      payload.put((byte) 0xff).put((byte) (1180 & 0xff)).put((byte) (1180 >> 8)).put((byte) '#')
        .put("HY000".getBytes(StandardCharsets.US_ASCII)).put(message);
      return payload.flip();
    }

    /** RST both sides: SO_LINGER 0, then close. */
    void reset() {
      links.remove(this);
      abort(client);
      SocketChannel up = upstream;
      if (up != null) {
        abort(up);
      }
    }

    private void closeQuietly() {
      links.remove(this);
      try {
        client.close();
      } catch (IOException ignored) {
        // already closed
      }
      SocketChannel up = upstream;
      if (up != null) {
        try {
          up.close();
        } catch (IOException ignored) {
          // already closed
        }
      }
    }

    private static void abort(SocketChannel channel) {
      try {
        if (channel.isOpen()) {
          channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        }
        channel.close();
      } catch (IOException ignored) {
        // already closed
      }
    }
  }
}

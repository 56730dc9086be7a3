package io.sluice.netns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay in the test's (or the bench's) JVM: accepts on an address of this namespace and forwards each connection to a target,
 * two threads per connection. It makes the database, which may listen on loopback only and accept the
 * service's user only from 127.0.0.1 (the embedded server), reachable from nodes in other network namespaces.
 */
public final class TcpRelay implements AutoCloseable {

  private final ServerSocket server;
  private final String targetHost;
  private final int targetPort;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

  public TcpRelay(String bindHost, String targetHost, int targetPort) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getByName(bindHost));
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    daemon("tcp-relay-accept", this::accept);
  }

  public int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket in = server.accept();
        Socket out = new Socket(targetHost, targetPort);
        in.setTcpNoDelay(true);
        out.setTcpNoDelay(true);
        sockets.add(in);
        sockets.add(out);
        daemon("tcp-relay-up", () -> pump(in, out));
        daemon("tcp-relay-down", () -> pump(out, in));
      } catch (IOException e) {
        // Closed, or the target refused one connection: the client sees its connection closed.
      }
    }
  }

  /** Copies until either side ends, then closes both, so that the other pump ends too. */
  private void pump(Socket from, Socket to) {
    try {
      from.getInputStream().transferTo(to.getOutputStream());
    } catch (IOException e) {
      // One side closed or reset: close both below.
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void closeQuietly(Socket socket) {
    sockets.remove(socket);
    try {
      socket.close();
    } catch (IOException e) {
      // Already closed.
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() throws IOException {
    server.close();
    Set.copyOf(sockets).forEach(this::closeQuietly);
  }
}

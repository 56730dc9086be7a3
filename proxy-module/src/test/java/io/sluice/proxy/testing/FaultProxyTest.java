package io.sluice.proxy.testing;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The fault proxy itself, in front of a one-line echo server: no database involved. */
class FaultProxyTest {

  private ServerSocket echo;
  private FaultProxy proxy;

  @BeforeEach
  void setUp() throws IOException {
    echo = new ServerSocket();
    echo.bind(new InetSocketAddress("127.0.0.1", 0));
    Thread server = new Thread(this::serve, "echo");
    server.setDaemon(true);
    server.start();
    proxy = FaultProxy.start("127.0.0.1", echo.getLocalPort());
  }

  @AfterEach
  void tearDown() throws IOException {
    proxy.close();
    echo.close();
  }

  private void serve() {
    while (!echo.isClosed()) {
      try {
        Socket socket = echo.accept();
        Thread pump = new Thread(() -> {
          try (socket; InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
            in.transferTo(out);
          } catch (IOException ignored) {
            // the test reset or closed it
          }
        }, "echo-conn");
        pump.setDaemon(true);
        pump.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
    return new String(socket.getInputStream().readNBytes(text.length()), StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName("pass and delay forward bytes; a blackhole holds them and delivers them when it ends")
  void forwardsHoldsAndDelivers() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      assertEquals("hello", roundTrip(socket, "hello"));
      proxy.delay(Duration.ofMillis(20));
      assertEquals("slow", roundTrip(socket, "slow"));

      proxy.mode(FaultProxy.Mode.BLACKHOLE);
      socket.getOutputStream().write("held".getBytes(StandardCharsets.UTF_8));
      proxy.mode(FaultProxy.Mode.PASS);
      assertEquals("held", new String(socket.getInputStream().readNBytes(4), StandardCharsets.UTF_8));
    }
  }

  @Test
  @DisplayName("reset sends RST on open connections and on new ones")
  void resetResetsConnections() throws IOException {
    try (Socket open = new Socket("127.0.0.1", proxy.port())) {
      assertEquals("hi", roundTrip(open, "hi"));
      proxy.mode(FaultProxy.Mode.RESET);
      assertThrows(SocketException.class, () -> roundTrip(open, "again"));
    }
    try (Socket fresh = new Socket("127.0.0.1", proxy.port())) {
      assertThrows(SocketException.class, () -> roundTrip(fresh, "new"));
    }
  }
}

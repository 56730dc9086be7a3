package io.sluice.http;

import io.sluice.launcher.TestSluice;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTTP server's edges over raw sockets, byte for byte as a misbehaving client sends them: every bad input gets a
 * 4xx with the JSON error body, and a client that is silent or too slow loses its connection.
 *
 * <p>Each wait for the server is a blocking read with a generous deadline ({@link #READ_DEADLINE_MS}); the limits
 * under test are configured far below it, and any other limit that could end the same wait far above it.
 */
class HttpLimitsTest {

  private static final int READ_DEADLINE_MS = 30_000;
  /** A limit that must not be the one that fires: far beyond {@link #READ_DEADLINE_MS}. */
  private static final long NEVER_MS = 600_000;

  private static TestSluice.Running start(JsonObject http) {
    JsonObject config = TestSluice.config();
    config.getJsonObject("http").mergeIn(http);
    return TestSluice.start(config);
  }

  private static Socket connect(TestSluice.Running sluice) throws IOException {
    Socket socket = new Socket("127.0.0.1", sluice.port());
    socket.setSoTimeout(READ_DEADLINE_MS);
    return socket;
  }

  @Test
  @DisplayName("a multipart POST with a malformed query string is answered 400 with the JSON error body")
  void multipartWithMalformedQueryIs400() throws IOException {
    try (TestSluice.Running sluice = start(new JsonObject())) {
      String body = "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b--\r\n";
      Response response = exchange(sluice, "POST /users?%zz HTTP/1.1\r\nHost: localhost\r\n"
        + "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      response.assertError(400, "bad_request");
    }
  }

  @Test
  @DisplayName("malformed query strings, form bodies, non-JSON content, a bad Content-Length and an unknown Expect"
    + " get a 4xx with the JSON error body, never a 500 or silence")
  void otherMalformedInputIs400() throws IOException {
    try (TestSluice.Running sluice = start(new JsonObject())) {
      exchange(sluice, "GET /users/1/notifications?%zz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .assertError(400, "bad_request");
      String form = "name=%zz&email=x";
      exchange(sluice, "POST /users?%zz HTTP/1.1\r\nHost: localhost\r\n"
        + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + form.length() + "\r\n\r\n" + form)
        .assertError(400, "bad_request");
      exchange(sluice, "POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + "Content-Length: " + form.length() + "\r\n\r\n" + form).assertError(400, "bad_request");
      String multipart = "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b--\r\n";
      exchange(sluice, "POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        + "Content-Length: " + multipart.length() + "\r\n\r\n" + multipart).assertError(400, "bad_request");
      exchange(sluice, "POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n{}")
        .assertError(400, "bad_request");
      exchange(sluice, "POST /users HTTP/1.1\r\nHost: localhost\r\nExpect: coffee\r\nContent-Length: 2\r\n\r\n{}")
        .assertError(417, "expectation_failed");
    }
  }

  @Test
  @DisplayName("a request line over http.maxInitialLineLength gets 414, headers over http.maxHeaderSize get 431,"
    + " both with the JSON error body")
  void oversizedRequestLineAndHeaders() throws IOException {
    try (TestSluice.Running sluice = start(new JsonObject().put("maxInitialLineLength", 1024)
      .put("maxHeaderSize", 2048))) {
      exchange(sluice, "GET /users/1?pad=" + "a".repeat(2000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .assertError(414, "uri_too_long");
      exchange(sluice, "GET /users/1 HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + "a".repeat(4000) + "\r\n\r\n")
        .assertError(431, "headers_too_large");
    }
  }

  @Test
  @DisplayName("a kept-alive connection left idle is closed by the server after http.idleTimeoutMs")
  void idleConnectionIsClosed() throws IOException {
    try (TestSluice.Running sluice = start(new JsonObject().put("requestTimeoutMs", 200)
      .put("maxRequestTimeoutMs", 200).put("idleTimeoutMs", 500).put("requestReadTimeoutMs", NEVER_MS));
      Socket socket = connect(sluice)) {
      send(socket, "GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n");
      Response first = Response.read(socket.getInputStream());
      assertEquals(200, first.status, first.text);
      // Nothing more is sent: the server must end the connection on its own.
      assertEquals(-1, socket.getInputStream().read(), "the server sent more instead of closing");
    }
  }

  @Test
  @DisplayName("a client that sends its body too slowly gets 408 with the JSON error body after"
    + " http.requestReadTimeoutMs, and the connection is closed")
  void slowBodyGets408() throws IOException {
    try (TestSluice.Running sluice = start(new JsonObject().put("idleTimeoutMs", NEVER_MS)
      .put("requestReadTimeoutMs", 500));
      Socket socket = connect(sluice)) {
      send(socket, "POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: 100\r\n\r\n{\"name\":");
      Response response = Response.read(socket.getInputStream());
      response.assertError(408, "request_timeout");
      assertEquals(-1, socket.getInputStream().read(), "the connection must be closed after the 408");
    }
  }

  @Test
  @DisplayName("a client that never finishes its request headers is disconnected after http.requestReadTimeoutMs")
  void slowHeadersAreCutOff() throws IOException {
    try (TestSluice.Running sluice = start(new JsonObject().put("idleTimeoutMs", NEVER_MS)
      .put("requestReadTimeoutMs", 500));
      Socket socket = connect(sluice)) {
      send(socket, "GET /health/live HTTP/1.1\r\nHost: local");
      assertEquals(-1, socket.getInputStream().read(), "the server answered a request it never fully received");
    }
  }

  private static Response exchange(TestSluice.Running sluice, String request) throws IOException {
    try (Socket socket = connect(sluice)) {
      send(socket, request);
      return Response.read(socket.getInputStream());
    }
  }

  private static void send(Socket socket, String bytes) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** One HTTP/1.1 response: status line, headers, and a body of Content-Length bytes. */
  private record Response(int status, String headers, String text) {

    static Response read(InputStream in) throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b == -1) {
          throw new IOException("connection closed before a whole response: '" + head + "'");
        }
        head.write(b);
      }
      String headers = head.toString(StandardCharsets.ISO_8859_1);
      int length = 0;
      for (String line : headers.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(line.substring("content-length:".length()).trim());
        }
      }
      byte[] body = in.readNBytes(length);
      return new Response(Integer.parseInt(headers.substring(9, 12)), headers,
        new String(body, StandardCharsets.UTF_8));
    }

    void assertError(int expectedStatus, String code) {
      assertEquals(expectedStatus, status, headers + text);
      assertTrue(headers.toLowerCase(Locale.ROOT).contains("content-type: application/json"), headers);
      JsonObject body = new JsonObject(text);
      assertEquals(code, body.getString("error"), text);
      assertTrue(body.getString("message") != null && !body.getString("message").isEmpty(), text);
    }
  }
}

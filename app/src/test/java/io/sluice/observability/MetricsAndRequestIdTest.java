package io.sluice.observability;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.github.benmanes.caffeine.cache.Ticker;
import io.sluice.api.HttpVerticle;
import io.sluice.launcher.SluiceVertx;
import io.sluice.launcher.TestSluice;
import io.sluice.proxy.testing.Poll;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /metrics after traffic that causes rejections, and the request id from the HTTP edge into the proxy's log. */
@ExtendWith(VertxExtension.class)
class MetricsAndRequestIdTest {

  /** A sample line of the Prometheus text format: name, optional labels, value. */
  private static final Pattern SAMPLE =
    Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*})? "
      + "(-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)( [0-9]+)?");

  private static TestSluice.Running sluice;
  private static final List<String> proxyLog = new CopyOnWriteArrayList<>();
  private static AppenderBase<ILoggingEvent> capture;

  @BeforeAll
  static void start() {
    capture = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent event) {
        proxyLog.add(event.getFormattedMessage());
      }
    };
    Logger logger = (Logger) LoggerFactory.getLogger("io.sluice.proxy.impl");
    capture.setContext(logger.getLoggerContext());
    capture.start();
    logger.addAppender(capture);

    sluice = TestSluice.start(SluiceVertx.create(), TestSluice.saturable(1, 0, 500), Ticker.systemTicker());
  }

  @AfterAll
  static void stop() {
    ((Logger) LoggerFactory.getLogger("io.sluice.proxy.impl")).detachAppender(capture);
    sluice.close();
  }

  @Test
  @DisplayName("/metrics is valid exposition text with the pool, HTTP and rejection series")
  void metricsAfterRejections() {
    String proxyMessages = "vertx_eventbus_processed_total{address=\"sluice.db.proxy\"}";
    double messagesBefore = value(sluice.client().get("/metrics").send().await().bodyAsString(), proxyMessages);
    List<Future<HttpResponse<Buffer>>> burst = new ArrayList<>();
    // Notification lists, not point reads: concurrent point reads of one kind would share one statement.
    for (int i = 0; i < 6; i++) {
      burst.add(sluice.client().get("/users/" + (940_000 + i) + "/notifications").send());
    }
    Future.all(burst).await();
    assertTrue(burst.stream().anyMatch(r -> r.result().statusCode() == 503), "the burst must cause a rejection");

    HttpResponse<Buffer> scrape = sluice.client().get("/metrics").send().await();
    assertEquals(200, scrape.statusCode());
    assertTrue(scrape.getHeader("Content-Type").startsWith("text/plain"), scrape.getHeader("Content-Type"));
    String text = scrape.bodyAsString();
    for (String line : text.split("\n")) {
      assertTrue(line.isEmpty() || line.startsWith("#") || SAMPLE.matcher(line).matches(), "not exposition: " + line);
    }
    assertTrue(value(text, "sluice_pool_rejections_total{reason=\"queue_full\"}") >= 1, "queue_full rejections");
    assertTrue(text.contains("vertx_pool_in_use{pool_name=\"sluice-db\",pool_type=\"sql\"}"), "pool in use");
    assertTrue(text.contains("vertx_pool_queue_time_seconds_count{pool_name=\"sluice-db\",pool_type=\"sql\"}"));
    assertTrue(text.contains("vertx_http_server_requests_total{code=\"503\",method=\"GET\","
      + "route=\"/users/:id/notifications\"}"), "HTTP series by route template");
    assertTrue(text.contains("sluice_statement_duration_seconds_bucket{operation=\"notifications.list\","
      + "le=\"1.0\"}"));
    assertTrue(text.contains("sluice_cache_misses_total{cache=\"notifications\"}"));
    assertTrue(!text.contains("940000"), "no user id in any label");
    // One process, unclustered: the HTTP tier calls its proxy in-process, so its requests add no event-bus message.
    assertEquals(messagesBefore, value(text, proxyMessages), "API requests sent over the event bus");
  }

  @Test
  @DisplayName("the request id is returned in the response and appears in the proxy's log line for that request")
  void requestIdReachesTheProxyLog() {
    String id = "req-id-check-1";
    HttpResponse<Buffer> response = sluice.client().get("/users/950001/settings")
      .putHeader(HttpVerticle.REQUEST_ID_HEADER, id)
      .putHeader(HttpVerticle.REQUEST_TIMEOUT_HEADER, "200")
      .send().await();
    assertEquals(504, response.statusCode());
    assertEquals(id, response.getHeader(HttpVerticle.REQUEST_ID_HEADER));
    Poll.until(Duration.ofSeconds(5), "no proxy log line with the request id",
      () -> proxyLog.stream().anyMatch(line -> line.contains("request_id=" + id)));
  }

  private static double value(String text, String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
      }
    }
    return -1;
  }
}

package io.sluice.bench;

import io.sluice.diagnose.ClosedLoop;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Reading wrk's output as the bench's script makes it print; wrk itself is not run. */
class WrkLoadTest {

  private static final String OUTPUT = """
    Running 20s test @ http://127.0.0.1:8080
      2 threads and 64 connections
    SLUICE_WRK {"requests":1000,"durationMicros":20000000,"connect":0,"read":2,"write":0,"status":10,"timeout":1,\
    "p50":1500,"p90":3000,"p99":9000,"p999":12000,"max":15000}
    """;

  @Test
  @DisplayName("the summary line becomes a result: answers below and from 400 apart, socket errors and timeouts")
  void parsesTheSummaryLine() {
    ClosedLoop.Result result = WrkLoad.parse(OUTPUT);

    assertEquals(Map.of(WrkLoad.OK_STATUS, 990L, WrkLoad.ERROR_STATUS, 10L, "timeout", 1L, ClosedLoop.ERROR, 2L),
      result.counts());
    assertEquals(1003, result.total());
    assertEquals(990, result.successes());
    assertEquals(20.0, result.seconds());
    assertEquals(9.0, result.latency().p99());
    assertNull(result.ok(), "with error answers among them, wrk's latency is not that of the successes");
  }

  @Test
  @DisplayName("output without the summary line fails with wrk's own output")
  void noSummaryIsAnError() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
      () -> WrkLoad.parse("unable to connect to 127.0.0.1:9 Connection refused"));
    assertEquals("wrk printed no summary:\nunable to connect to 127.0.0.1:9 Connection refused", e.getMessage());
  }
}

package io.sluice.contract;

import io.vertx.core.eventbus.DeliveryOptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CallBudgetTest {

  private static final long NOW = 1_700_000_000_000L;

  @Test
  void theProxyGetsTheRemainingTimeLessTenPercentWithinTheMarginBounds() {
    assertEquals(270, CallBudget.of(300, NOW).proxyBudgetMs(), "10 % kept back");
    assertEquals(90, CallBudget.of(100, NOW).proxyBudgetMs(), "at least 10 ms kept back");
    assertEquals(9_950, CallBudget.of(10_000, NOW).proxyBudgetMs(), "at most 50 ms kept back");
    assertEquals(900, CallBudget.of(1000, NOW, 100, 200).proxyBudgetMs(), "the caller's own bounds");
  }

  @Test
  void tooLittleTimeLeftIsSpent() {
    assertTrue(CallBudget.of(10, NOW).spent());
    assertTrue(CallBudget.of(-5, NOW).spent());
    assertFalse(CallBudget.of(11, NOW).spent());
  }

  @Test
  void deliveryOptionsCarryTheSendTimeoutAndBothFormsOfTheDeadline() {
    DeliveryOptions options = CallBudget.of(2000, NOW).deliveryOptions(Action.GET_USER);
    assertEquals(2000, options.getSendTimeout());
    assertEquals("1950", options.getHeaders().get(ProxyContract.TIMEOUT_HEADER));
    assertEquals(Long.toString(NOW + 1950), options.getHeaders().get(ProxyContract.DEADLINE_HEADER));
    assertEquals(Action.GET_USER, options.getHeaders().get(ProxyContract.ACTION_HEADER));
  }
}

package io.sluice.proxy.impl;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The statement texts per server flavour. CI runs MariaDB, so the MySQL dialect is pinned here; it runs for real
 * against Testcontainers MySQL or an external MySQL 8 (see the README's Tests section).
 */
class ServerLimitsTest {

  private static final String SELECT = "SELECT id FROM users WHERE id = ?";
  private static final String INSERT = "INSERT INTO users (name) VALUES (?)";

  @Test
  void flavourIsDetectedFromTheVersionString() {
    assertEquals(ServerLimits.Flavor.MARIADB, ServerLimits.forVersion("11.4.5-MariaDB").flavor());
    assertEquals(ServerLimits.Flavor.MYSQL, ServerLimits.forVersion("8.4.3").flavor());
  }

  @Test
  void mariaDbLimitsEveryStatementRoundedUpToAStep() {
    ServerLimits limits = ServerLimits.forVersion("11.4.5-MariaDB");
    assertEquals("SET STATEMENT max_statement_time=0.300 FOR " + SELECT, limits.limit(SELECT, 201));
    assertEquals("SET STATEMENT max_statement_time=2.000 FOR " + INSERT, limits.limit(INSERT, 1999));
    assertEquals("SET STATEMENT max_statement_time=0.100 FOR " + SELECT, limits.limit(SELECT, 1));
    assertEquals("SET STATEMENT max_statement_time=3600.000 FOR " + SELECT, limits.limit(SELECT, 99_999_999));
  }

  @Test
  void noLockWaitIsPerStatementOnMariaDbAndCachedApartFromTheLimitedText() {
    ServerLimits limits = ServerLimits.forVersion("11.4.5-MariaDB");
    assertEquals("SET STATEMENT innodb_lock_wait_timeout=0, max_statement_time=0.500 FOR " + INSERT,
      limits.limit(INSERT, 400, true));
    assertEquals("SET STATEMENT max_statement_time=0.500 FOR " + INSERT, limits.limit(INSERT, 400));
    assertEquals(INSERT, ServerLimits.forVersion("8.4.3").limit(INSERT, 400, true));
  }

  @Test
  void mySqlHintsSelectsOnlyAndLeavesWritesToTheKill() {
    ServerLimits limits = ServerLimits.forVersion("8.4.3");
    assertEquals("SELECT /*+ MAX_EXECUTION_TIME(750) */ id FROM users WHERE id = ?", limits.limit(SELECT, 501));
    assertEquals(INSERT, limits.limit(INSERT, 501));
  }
}

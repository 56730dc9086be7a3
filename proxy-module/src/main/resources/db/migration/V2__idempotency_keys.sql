-- Idempotency keys of writes (Idempotency-Key / idempotency-key). A row is inserted, its reply stored and committed
-- in the same transaction as the write it protects: a committed row always has its reply, and a rolled-back write
-- leaves no key. Times are UTC, written by the proxy from its own clock.
CREATE TABLE idempotency_keys (
  scope       VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  idem_key    VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  fingerprint CHAR(64)     CHARACTER SET ascii NOT NULL,
  response    MEDIUMTEXT   NULL,
  created_at  DATETIME(3)  NOT NULL,
  expires_at  DATETIME(3)  NOT NULL,
  PRIMARY KEY (scope, idem_key),
  -- Serves the purge of expired keys in small batches.
  KEY idx_idempotency_keys_expires (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

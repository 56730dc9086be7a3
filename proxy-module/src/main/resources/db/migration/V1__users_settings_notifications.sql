-- Timestamps are UTC, written by the proxy (DATETIME(3) avoids the session time zone conversion of TIMESTAMP).
CREATE TABLE users (
  id         BIGINT       NOT NULL AUTO_INCREMENT,
  name       VARCHAR(200) NOT NULL,
  email      VARCHAR(254) NOT NULL,
  created_at DATETIME(3)  NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_users_email (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE user_settings (
  user_id    BIGINT      NOT NULL,
  settings   JSON        NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id),
  CONSTRAINT fk_user_settings_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE notifications (
  id         BIGINT        NOT NULL AUTO_INCREMENT,
  user_id    BIGINT        NOT NULL,
  title      VARCHAR(200)  NOT NULL,
  body       VARCHAR(4000) NOT NULL,
  is_read    BOOLEAN       NOT NULL DEFAULT FALSE,
  created_at DATETIME(3)   NOT NULL,
  PRIMARY KEY (id),
  -- Serves "newest first" for all and for unread-only lists of one user.
  KEY idx_notifications_user_created (user_id, created_at, id),
  KEY idx_notifications_user_unread (user_id, is_read, created_at, id),
  CONSTRAINT fk_notifications_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

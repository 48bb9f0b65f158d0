-- Notify: every delivery channel in one durable schedule, an attempt log, paused
-- subscriptions and per-business notification settings.

-- channel: webhook (subscription_id = the subscription) or crm | email | chat
-- (subscription_id = 0, the business's notify settings say where).
ALTER TABLE webhook_deliveries
  ADD COLUMN IF NOT EXISTS channel VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT 'webhook' AFTER subscription_id,
  ADD COLUMN IF NOT EXISTS call_id BIGINT UNSIGNED NULL AFTER channel,
  ADD COLUMN IF NOT EXISTS latency_ms INT UNSIGNED NULL AFTER response_code;

ALTER TABLE webhook_subscriptions
  ADD COLUMN IF NOT EXISTS description VARCHAR(255) NOT NULL DEFAULT '' AFTER url,
  ADD COLUMN IF NOT EXISTS consecutive_failures INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS paused_at DATETIME(3) NULL,
  ADD COLUMN IF NOT EXISTS pause_reason VARCHAR(1024) NOT NULL DEFAULT '';

-- One row per attempt of a delivery (the delivery row keeps only the latest).
CREATE TABLE IF NOT EXISTS webhook_delivery_attempts (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid              VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  delivery_id      BIGINT UNSIGNED NOT NULL,
  attempt          INT UNSIGNED NOT NULL,
  outcome          ENUM('delivered','retry','failed','paused') NOT NULL,
  response_code    INT NULL,
  latency_ms       INT UNSIGNED NOT NULL DEFAULT 0,
  error            VARCHAR(1024) NOT NULL DEFAULT '',
  next_attempt_at  DATETIME(3) NULL,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_attempts_bid_delivery (bid, delivery_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Where alerts and write-backs go, per business (JSON, see docs/notify.md).
CREATE TABLE IF NOT EXISTS notify_settings (
  bid         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  settings    JSON NOT NULL,
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (bid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

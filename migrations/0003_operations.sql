-- Sync state, CRM leads, categories and scorecards, escalations, notes, webhooks.

CREATE TABLE IF NOT EXISTS sync_watermarks (
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  source       VARCHAR(64) NOT NULL,
  position     VARCHAR(255) NOT NULL,  -- opaque to storage: last seen modified_at / id
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (bid, source)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS crm_leads (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  phone        VARCHAR(32) NOT NULL,  -- E.164
  lead_id      VARCHAR(128) NOT NULL,
  fields       JSON NOT NULL,
  modified_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_leads_bid_lead (bid, lead_id),
  KEY ix_leads_bid_phone (bid, phone, modified_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS categories (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name        VARCHAR(128) NOT NULL,
  rules       JSON NOT NULL,
  enabled     TINYINT(1) NOT NULL DEFAULT 1,
  version     INT UNSIGNED NOT NULL DEFAULT 1,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_categories_bid_name (bid, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS call_category_matches (
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  call_id      BIGINT UNSIGNED NOT NULL,
  category_id  BIGINT UNSIGNED NOT NULL,
  spans        JSON NOT NULL,  -- [{begin_ms, end_ms}]
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (bid, call_id, category_id),
  KEY ix_matches_bid_category (bid, category_id, call_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS scorecards (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name        VARCHAR(128) NOT NULL,
  questions   JSON NOT NULL,  -- [{id, text, weight, rule | metric | agent}]
  enabled     TINYINT(1) NOT NULL DEFAULT 1,
  version     INT UNSIGNED NOT NULL DEFAULT 1,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_scorecards_bid_name (bid, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS escalations (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  call_id      BIGINT UNSIGNED NOT NULL,
  reason       VARCHAR(1024) NOT NULL,
  severity     ENUM('low','medium','high') NOT NULL DEFAULT 'medium',
  status       ENUM('open','acknowledged','resolved') NOT NULL DEFAULT 'open',
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  resolved_at  DATETIME(3) NULL,
  PRIMARY KEY (id),
  KEY ix_escalations_bid_status (bid, status, created_at),
  KEY ix_escalations_bid_call (bid, call_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS call_notes (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid             VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  call_id         BIGINT UNSIGNED NOT NULL,
  author_user_id  BIGINT UNSIGNED NULL,
  body            TEXT NOT NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_notes_bid_call (bid, call_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS webhook_subscriptions (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid             VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  url             VARCHAR(2048) NOT NULL,
  events          JSON NOT NULL,  -- ["call.analyzed", ...]
  secret_sealed   VARBINARY(512) NOT NULL,  -- signing secret, secretbox under a master key
  secret_key_id   VARCHAR(32) CHARACTER SET ascii NOT NULL,
  enabled         TINYINT(1) NOT NULL DEFAULT 1,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_webhooks_bid (bid, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The dispatcher claims due deliveries across tenants, so ix_deliveries_due is a worker
-- index without bid; API reads use ix_deliveries_bid_sub.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid              VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  subscription_id  BIGINT UNSIGNED NOT NULL,
  event_type       VARCHAR(64) NOT NULL,
  event_id         VARCHAR(128) NOT NULL,
  payload          JSON NOT NULL,
  status           ENUM('pending','delivered','failed') NOT NULL DEFAULT 'pending',
  attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at  DATETIME(3) NOT NULL,
  last_error       VARCHAR(1024) NOT NULL DEFAULT '',
  response_code    INT NULL,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  delivered_at     DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_deliveries_event (bid, subscription_id, event_id),
  KEY ix_deliveries_bid_sub (bid, subscription_id, id),
  KEY ix_deliveries_due (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

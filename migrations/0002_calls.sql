-- Calls and everything derived from them.
-- The call list is served from call_records alone: the values it filters and sorts on
-- (agent talk ratio, customer sentiment, QA score) are denormalized onto the call row in
-- the same transaction that writes call_metrics / analyses, and each sort has an index
-- (bid, <sort key>) whose implicit primary-key suffix makes (key, id) a unique keyset.

CREATE TABLE IF NOT EXISTS human_agents (
  id                     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid                    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  external_id            VARCHAR(128) NOT NULL,
  name                   VARCHAR(255) NOT NULL DEFAULT '',
  team                   VARCHAR(128) NOT NULL DEFAULT '',
  city                   VARCHAR(128) NOT NULL DEFAULT '',
  -- Aggregates are kept as exact sums and counts; averages are sum / count.
  total_calls            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  talk_ratio_sum         DOUBLE NOT NULL DEFAULT 0,
  talk_ratio_count       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  customer_sentiment_sum DOUBLE NOT NULL DEFAULT 0,
  customer_sentiment_count BIGINT UNSIGNED NOT NULL DEFAULT 0,
  qa_score_sum           DOUBLE NOT NULL DEFAULT 0,
  qa_score_count         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  escalations            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  trend                  JSON NOT NULL,  -- newest-last list, bounded (see HumanAgentRepository)
  created_at             DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at             DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_human_agents_bid_ext (bid, external_id),
  KEY ix_human_agents_bid_team (bid, team)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS call_records (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid                 VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  external_id         VARCHAR(128) NOT NULL,
  human_agent_id      BIGINT UNSIGNED NULL,
  customer_phone      VARCHAR(80) NOT NULL DEFAULT '',  -- E.164, or "sha256:<hex>" once hashed
  customer_phone_hashed TINYINT(1) NOT NULL DEFAULT 0,
  customer_name       VARCHAR(255) NOT NULL DEFAULT '',
  direction           ENUM('inbound','outbound','unknown') NOT NULL DEFAULT 'unknown',
  city                VARCHAR(128) NOT NULL DEFAULT '',
  issue_category      VARCHAR(128) NOT NULL DEFAULT '',
  call_context        TEXT NOT NULL,
  started_at          DATETIME(3) NOT NULL,
  duration_ms         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  audio_uri           VARCHAR(1024) NOT NULL DEFAULT '',
  channels            TINYINT UNSIGNED NOT NULL DEFAULT 1,
  language            VARCHAR(16) NOT NULL DEFAULT '',
  metadata            JSON NOT NULL,
  status              ENUM('pending','transcribing','transcribed','analyzing','analyzed','notified','failed') NOT NULL DEFAULT 'pending',
  failed_stage        VARCHAR(32) NOT NULL DEFAULT '',
  failed_reason       VARCHAR(1024) NOT NULL DEFAULT '',
  attempts            INT UNSIGNED NOT NULL DEFAULT 0,
  sync_count          INT UNSIGNED NOT NULL DEFAULT 1,  -- upserts seen (re-syncs add one)
  -- Denormalized for the call list (written with call_metrics / analyses).
  agent_talk_ratio    DOUBLE NULL,
  customer_sentiment  DOUBLE NULL,
  qa_score            DOUBLE NULL,
  -- NOT NULL sort keys so a keyset never meets a NULL: unscored calls sort lowest.
  sentiment_key       DOUBLE AS (COALESCE(customer_sentiment, -1000)) STORED,
  qa_key              DOUBLE AS (COALESCE(qa_score, -1000)) STORED,
  aggregated          TINYINT(1) NOT NULL DEFAULT 0,  -- counted in human_agents aggregates
  status_changed_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  created_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_calls_bid_ext (bid, external_id),
  KEY ix_calls_bid_started (bid, started_at),
  KEY ix_calls_bid_duration (bid, duration_ms),
  KEY ix_calls_bid_sentiment (bid, sentiment_key),
  KEY ix_calls_bid_qa (bid, qa_key),
  KEY ix_calls_bid_agent_started (bid, human_agent_id, started_at),
  KEY ix_calls_bid_status_started (bid, status, started_at),
  KEY ix_calls_bid_created (bid, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The current transcript of a call (version counts rewrites). The FULLTEXT index cannot
-- lead with bid; queries always join back through call_records on (bid, id).
CREATE TABLE IF NOT EXISTS transcripts (
  call_id     BIGINT UNSIGNED NOT NULL,
  bid         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  segments    JSON NOT NULL,  -- [{speaker, start_ms, end_ms, text, confidence}]
  full_text   MEDIUMTEXT NOT NULL,
  provider    VARCHAR(64) NOT NULL,
  language    VARCHAR(16) NOT NULL DEFAULT '',
  version     INT UNSIGNED NOT NULL DEFAULT 1,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (call_id),
  KEY ix_transcripts_bid_call (bid, call_id),
  FULLTEXT KEY ft_transcripts_text (full_text)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Conversation metrics (see docs/metrics definitions), one row per call.
CREATE TABLE IF NOT EXISTS call_metrics (
  call_id                       BIGINT UNSIGNED NOT NULL,
  bid                           VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  source                        ENUM('audio','transcript') NOT NULL,
  duration_ms                   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  agent_talk_ms                 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  customer_talk_ms              BIGINT UNSIGNED NOT NULL DEFAULT 0,
  agent_talk_ratio              DOUBLE NULL,  -- agent / (agent + customer)
  agent_talk_pct_of_call        DOUBLE NULL,  -- agent / call duration
  non_talk_ms                   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  silences                      JSON NOT NULL,  -- [{begin_ms, end_ms, duration_ms}] >= 3 s
  overtalk_ms                   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  overtalk_count                INT UNSIGNED NOT NULL DEFAULT 0,
  agent_interruptions           INT UNSIGNED NOT NULL DEFAULT 0,
  agent_interruption_ms         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  customer_interruptions        INT UNSIGNED NOT NULL DEFAULT 0,
  customer_interruption_ms      BIGINT UNSIGNED NOT NULL DEFAULT 0,
  agent_loudness_mean_dbfs      DOUBLE NULL,
  agent_loudness_peak_dbfs      DOUBLE NULL,
  customer_loudness_mean_dbfs   DOUBLE NULL,
  customer_loudness_peak_dbfs   DOUBLE NULL,
  loudness_series               JSON NOT NULL,  -- {"agent":[dBFS per s], "customer":[...]}
  longest_monologue_ms          BIGINT UNSIGNED NOT NULL DEFAULT 0,
  longest_customer_story_ms     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  interactivity_per_min         DOUBLE NULL,
  patience_ms                   DOUBLE NULL,
  agent_wpm                     DOUBLE NULL,
  customer_wpm                  DOUBLE NULL,
  question_rate_per_hour        DOUBLE NULL,
  agent_sentiment               DOUBLE NULL,
  customer_sentiment            DOUBLE NULL,
  agent_sentiment_q1            DOUBLE NULL,
  agent_sentiment_q2            DOUBLE NULL,
  agent_sentiment_q3            DOUBLE NULL,
  agent_sentiment_q4            DOUBLE NULL,
  customer_sentiment_q1         DOUBLE NULL,
  customer_sentiment_q2         DOUBLE NULL,
  customer_sentiment_q3         DOUBLE NULL,
  customer_sentiment_q4         DOUBLE NULL,
  sentiment_change              DOUBLE NULL,  -- customer Q4 - Q1
  computed_at                   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (call_id),
  KEY ix_metrics_bid_call (bid, call_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every run of an agent on a call is kept; is_latest marks the current one per
-- (call, agent config).
CREATE TABLE IF NOT EXISTS analyses (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid              VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  call_id          BIGINT UNSIGNED NOT NULL,
  agent_config_id  BIGINT UNSIGNED NOT NULL,
  agent_version    INT UNSIGNED NOT NULL,
  output           JSON NOT NULL,
  model            VARCHAR(128) NOT NULL DEFAULT '',
  prompt_hash      CHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '',
  latency_ms       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  input_tokens     INT UNSIGNED NOT NULL DEFAULT 0,
  output_tokens    INT UNSIGNED NOT NULL DEFAULT 0,
  is_latest        TINYINT(1) NOT NULL DEFAULT 1,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_analyses_bid_call (bid, call_id, agent_config_id, is_latest)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Append-only pipeline history of a call.
CREATE TABLE IF NOT EXISTS processing_events (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  call_id      BIGINT UNSIGNED NOT NULL,
  stage        VARCHAR(32) NOT NULL,
  outcome      ENUM('started','succeeded','failed','retried','skipped') NOT NULL,
  attempt      INT UNSIGNED NOT NULL DEFAULT 1,
  error        VARCHAR(1024) NOT NULL DEFAULT '',
  duration_ms  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_events_bid_call (bid, call_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

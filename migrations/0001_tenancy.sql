-- Businesses (tenants), their users and API keys, platform admins.
-- Every tenant-owned table carries `bid` (ASCII, case-sensitive) and every index the API
-- uses starts with it. All tables: InnoDB, utf8mb4. Times are UTC DATETIME(3).

CREATE TABLE IF NOT EXISTS businesses (
  bid         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name        VARCHAR(255) NOT NULL,
  status      ENUM('active','disabled') NOT NULL DEFAULT 'active',
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (bid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS platform_admins (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  email          VARCHAR(255) NOT NULL,
  password_hash  VARCHAR(255) NOT NULL,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_platform_admins_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS users (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid            VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  email          VARCHAR(255) NOT NULL,
  display_name   VARCHAR(255) NOT NULL DEFAULT '',
  role           ENUM('admin','analyst','viewer') NOT NULL,
  password_hash  VARCHAR(255) NOT NULL,  -- argon2id (libsodium crypto_pwhash_str)
  disabled       TINYINT(1) NOT NULL DEFAULT 0,
  last_login_at  DATETIME(3) NULL,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_bid_email (bid, email),
  CONSTRAINT fk_users_business FOREIGN KEY (bid) REFERENCES businesses (bid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Only the SHA-256 of a key is stored. Authentication looks a presented key up by its hash
-- before the tenant is known, so uq_api_keys_hash is the one API-path index without bid.
CREATE TABLE IF NOT EXISTS api_keys (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid           VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name          VARCHAR(255) NOT NULL,
  prefix        VARCHAR(16) CHARACTER SET ascii NOT NULL,
  key_hash      BINARY(32) NOT NULL,
  scopes        JSON NOT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_used_at  DATETIME(3) NULL,
  revoked_at    DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_api_keys_hash (key_hash),
  KEY ix_api_keys_bid (bid, created_at),
  CONSTRAINT fk_api_keys_business FOREIGN KEY (bid) REFERENCES businesses (bid),
  CONSTRAINT ck_api_keys_scopes CHECK (JSON_VALID(scopes))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per business. Non-secret settings are typed columns or JSON; secrets (source
-- database password, CRM and provider API keys) live only in `secrets_sealed`, a libsodium
-- secretbox under the master key named by `secrets_key_id` (see libs/crypto).
CREATE TABLE IF NOT EXISTS business_pipeline_config (
  bid                  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  source_db            JSON NOT NULL,   -- {kind, host, port, database, user, table}
  column_mapping       JSON NOT NULL,   -- source column -> call_records field
  crm                  JSON NOT NULL,   -- {provider, base_url, ...}
  lead_filter_mode     ENUM('off','prefer','require') NOT NULL DEFAULT 'off',
  stt_provider         VARCHAR(64) NOT NULL DEFAULT 'pocketsphinx',
  stt_options          JSON NOT NULL,
  llm_chain            JSON NOT NULL,   -- ordered list of {provider, model}
  embedding_provider   VARCHAR(64) NOT NULL DEFAULT 'hashed-bow',
  language             VARCHAR(16) NOT NULL DEFAULT 'en',
  default_country_code VARCHAR(3) NOT NULL DEFAULT '1',
  concurrency          INT UNSIGNED NOT NULL DEFAULT 4,
  rate_limit_per_min   INT UNSIGNED NOT NULL DEFAULT 60,
  retention_days       INT UNSIGNED NOT NULL DEFAULT 365,
  hash_phone_after_analysis TINYINT(1) NOT NULL DEFAULT 0,
  channel_roles        JSON NOT NULL,   -- e.g. {"0":"agent","1":"customer"}
  secrets_sealed       VARBINARY(8192) NULL,
  secrets_key_id       VARCHAR(32) CHARACTER SET ascii NULL,
  version              INT UNSIGNED NOT NULL DEFAULT 1,
  updated_at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (bid),
  KEY ix_pipeline_key_id (secrets_key_id),  -- rotation: find values under an old key
  CONSTRAINT fk_pipeline_business FOREIGN KEY (bid) REFERENCES businesses (bid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS business_agent_config (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid              VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name             VARCHAR(128) NOT NULL,
  kind             ENUM('builtin','llm') NOT NULL,
  prompt_template  MEDIUMTEXT NOT NULL,
  output_schema    JSON NOT NULL,
  model            VARCHAR(128) NOT NULL DEFAULT '',
  enabled          TINYINT(1) NOT NULL DEFAULT 1,
  version          INT UNSIGNED NOT NULL DEFAULT 1,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_agent_config_bid_name (bid, name),
  CONSTRAINT fk_agent_config_business FOREIGN KEY (bid) REFERENCES businesses (bid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

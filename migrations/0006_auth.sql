-- Gateway sessions: refresh tokens (stored as SHA-256 only). Each refresh revokes the token
-- it used and issues the next one of the same family; presenting a revoked token again
-- (a stolen copy) revokes the whole family. Platform admins have no bid.
-- A refresh token is presented before its tenant is known (and platform admins have none):
-- index without bid: auth_refresh_tokens.uq_refresh_token_hash (lookup by the token's hash)
-- index without bid: auth_refresh_tokens.ix_refresh_family (revocation follows a token already found)

CREATE TABLE IF NOT EXISTS auth_refresh_tokens (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  token_hash         BINARY(32) NOT NULL,
  family_id          CHAR(32) CHARACTER SET ascii NOT NULL,
  bid                VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  user_id            BIGINT UNSIGNED NOT NULL,
  is_platform_admin  TINYINT(1) NOT NULL DEFAULT 0,
  expires_at         DATETIME(3) NOT NULL,
  revoked_at         DATETIME(3) NULL,
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_refresh_token_hash (token_hash),
  KEY ix_refresh_family (family_id),
  KEY ix_refresh_user (bid, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

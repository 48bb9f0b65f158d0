-- Tenant walls: one e-mail names one account on the whole platform (so logging in by e-mail
-- is never ambiguous, and one business cannot break another's login by creating a user with
-- the same e-mail), and platform admins can be disabled.
--
-- A database that already holds an e-mail in two businesses stops here with "Duplicate
-- entry ... for key 'uq_users_email'": rename or remove one of the two users, then migrate
-- again (docs/storage.md).
-- index without bid: users.uq_users_email (one e-mail, one account on the whole platform; login looks the e-mail up before it knows the business)
ALTER TABLE users ADD UNIQUE KEY IF NOT EXISTS uq_users_email (email);

ALTER TABLE platform_admins
  ADD COLUMN IF NOT EXISTS disabled TINYINT(1) NOT NULL DEFAULT 0 AFTER password_hash;

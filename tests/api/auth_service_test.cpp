// AuthService against in-memory repositories: password login, refresh-token rotation and
// reuse detection, logout, access-token and API key authentication. No database.
#include <gtest/gtest.h>

#include "earshot/api/auth.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/crypto/password.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/api_keys_fake.hpp"
#include "fakes/storage/businesses_fake.hpp"
#include "fakes/storage/refresh_tokens_fake.hpp"
#include "fakes/storage/users_fake.hpp"

namespace earshot::api {
namespace {

using storage::TenantId;

const std::string kPassword = "correct horse battery";

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(businesses.create(acme, "Acme"));
    ASSERT_TRUE(businesses.create(globex, "Globex"));
    alice = add_user(acme, "alice@acme.test", storage::UserRole::kAnalyst);
    auto id = users.create_platform_admin("root@earshot.test", *crypto::hash_password(kPassword));
    ASSERT_TRUE(id);
    root = *id;
  }

  storage::Id add_user(const TenantId& t, const std::string& email, storage::UserRole role) {
    storage::User u;
    u.email = email;
    u.role = role;
    u.password_hash = *crypto::hash_password(kPassword);
    return *users.create(t, u);
  }

  static void expect_bad_login(const Result<Session>& s) {
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(s.error().message, "wrong e-mail or password");
  }

  // Past the standing cache, so the next bearer check reads the repositories again.
  void past_recheck() {
    clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(AuthService::kAccessRecheck) +
                  std::chrono::milliseconds(1));
  }

  const TenantId acme = *TenantId::make("acme");
  const TenantId globex = *TenantId::make("globex");
  testing::FakeClock clock;
  testing::FakeBusinessRepository businesses;
  testing::FakeUserRepository users{businesses};
  testing::FakeApiKeyRepository keys{businesses};
  testing::FakeRefreshTokenRepository tokens{users};
  JwtCodec jwt = *JwtCodec::make(std::string(48, 'k'), std::chrono::minutes(15), clock);
  AuthService auth{AuthRepositories{users, businesses, keys, tokens}, jwt, clock, std::chrono::hours(1)};
  storage::Id alice = 0;
  storage::Id root = 0;
};

TEST_F(AuthServiceTest, LoginIssuesASessionOfTheUsersBusinessAndRole) {
  auto s = auth.login("alice@acme.test", kPassword, std::nullopt);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->principal.kind, Principal::Kind::kUser);
  EXPECT_EQ(s->principal.id, alice);
  EXPECT_EQ(s->principal.bid, "acme");
  EXPECT_EQ(s->principal.role, Role::kAnalyst);
  EXPECT_TRUE(s->refresh_token.starts_with("ert_"));
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(users.get(acme, alice)->last_login_at, storage::to_timestamp(clock.now()));
  auto p = auth.authenticate_bearer(s->access_token);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->bid, "acme");
  EXPECT_EQ(p->role, Role::kAnalyst);
  // The e-mail is matched as the database matches it; the right bid is accepted too.
  EXPECT_TRUE(auth.login("Alice@Acme.test", kPassword, std::string("acme")));
}

TEST_F(AuthServiceTest, LoginRefusalsAllLookAlike) {
  expect_bad_login(auth.login("alice@acme.test", "wrong password", std::nullopt));
  expect_bad_login(auth.login("nobody@acme.test", kPassword, std::nullopt));
  expect_bad_login(auth.login("alice@acme.test", kPassword, std::string("globex")));  // not her business
  ASSERT_TRUE(users.set_disabled(acme, alice, true));
  expect_bad_login(auth.login("alice@acme.test", kPassword, std::nullopt));
  ASSERT_TRUE(users.set_disabled(acme, alice, false));
  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kDisabled));
  expect_bad_login(auth.login("alice@acme.test", kPassword, std::nullopt));
  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kActive));
  // Older data: one e-mail in two businesses names no account.
  storage::User dup;
  dup.email = "alice@acme.test";
  dup.password_hash = *crypto::hash_password(kPassword);
  users.add_unchecked(globex, dup);
  expect_bad_login(auth.login("alice@acme.test", kPassword, std::nullopt));
  EXPECT_EQ(tokens.size(), 0u);  // no refusal left a session behind
  EXPECT_EQ(auth.login("", kPassword, std::nullopt).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(AuthServiceTest, PlatformAdminsLogInWithoutABusinessAndNotWhenDisabled) {
  auto s = auth.login("root@earshot.test", kPassword, std::nullopt);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->principal.kind, Principal::Kind::kPlatformAdmin);
  EXPECT_EQ(s->principal.id, root);
  EXPECT_TRUE(s->principal.bid.empty());
  EXPECT_TRUE(auth.authenticate_bearer(s->access_token));
  // Naming a business makes it a business user's login: there is none with this e-mail.
  expect_bad_login(auth.login("root@earshot.test", kPassword, std::string("acme")));
  ASSERT_TRUE(users.set_platform_admin_disabled("root@earshot.test", true));
  expect_bad_login(auth.login("root@earshot.test", kPassword, std::nullopt));
  past_recheck();
  EXPECT_EQ(auth.authenticate_bearer(s->access_token).error().code, ErrorCode::kUnauthenticated);
  // Nor is the session renewed.
  EXPECT_EQ(auth.refresh(s->refresh_token).error().message, "invalid refresh token: unknown or no longer valid");
}

TEST_F(AuthServiceTest, RefreshRotatesTheToken) {
  auto s = auth.login("alice@acme.test", kPassword, std::nullopt);
  ASSERT_TRUE(s);
  ASSERT_TRUE(users.set_role(acme, alice, storage::UserRole::kAdmin));
  auto r = auth.refresh(s->refresh_token);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_NE(r->refresh_token, s->refresh_token);
  EXPECT_EQ(r->principal.id, alice);
  EXPECT_EQ(r->principal.bid, "acme");
  EXPECT_EQ(r->principal.role, Role::kAdmin);  // the current role, not the login's
  EXPECT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens.unrevoked(), 1u);
  auto again = auth.refresh(r->refresh_token);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(auth.authenticate_bearer(again->access_token));
}

TEST_F(AuthServiceTest, ReusingARotatedTokenRevokesTheWholeSession) {
  auto s = auth.login("alice@acme.test", kPassword, std::nullopt);
  ASSERT_TRUE(s);
  auto next = auth.refresh(s->refresh_token);
  ASSERT_TRUE(next);
  ASSERT_TRUE(auth.authenticate_bearer(next->access_token));
  // The old token again: copied, so the thief's and the owner's tokens both stop working.
  auto reused = auth.refresh(s->refresh_token);
  ASSERT_FALSE(reused);
  EXPECT_EQ(reused.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(reused.error().message, "invalid refresh token: already used; the session is revoked");
  EXPECT_EQ(tokens.unrevoked(), 0u);
  EXPECT_FALSE(auth.refresh(next->refresh_token));
  past_recheck();
  auto p = auth.authenticate_bearer(next->access_token);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "the session has ended; log in again");
  // Another session of the same user is untouched.
  auto other = auth.login("alice@acme.test", kPassword, std::nullopt);
  ASSERT_TRUE(other);
  EXPECT_TRUE(auth.refresh(other->refresh_token));
}

TEST_F(AuthServiceTest, RefreshIsRefusedForADisabledUserOrBusinessAndWhenExpired) {
  auto s1 = auth.login("alice@acme.test", kPassword, std::nullopt);
  auto s2 = auth.login("alice@acme.test", kPassword, std::nullopt);
  auto s3 = auth.login("alice@acme.test", kPassword, std::nullopt);
  ASSERT_TRUE(s1 && s2 && s3);
  ASSERT_TRUE(users.set_disabled(acme, alice, true));
  EXPECT_EQ(auth.refresh(s1->refresh_token).error().message, "invalid refresh token: unknown or no longer valid");
  ASSERT_TRUE(users.set_disabled(acme, alice, false));
  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kDisabled));
  EXPECT_EQ(auth.refresh(s2->refresh_token).error().message, "invalid refresh token: unknown or no longer valid");
  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kActive));
  EXPECT_EQ(tokens.unrevoked(), 3u);  // a refused refresh revokes nothing
  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(auth.refresh(s3->refresh_token).error().message, "invalid refresh token: expired");
  EXPECT_EQ(auth.refresh("ert_unknown").error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth.refresh("not-a-token").error().message, "invalid refresh token: malformed");
}

TEST_F(AuthServiceTest, LogoutEndsTheSession) {
  auto s = auth.login("alice@acme.test", kPassword, std::nullopt);
  ASSERT_TRUE(s);
  auto next = auth.refresh(s->refresh_token);
  ASSERT_TRUE(next);
  ASSERT_TRUE(auth.authenticate_bearer(next->access_token));
  // Logging out with any token of the session revokes all of them.
  ASSERT_TRUE(auth.logout(s->refresh_token));
  EXPECT_EQ(tokens.unrevoked(), 0u);
  EXPECT_FALSE(auth.refresh(next->refresh_token));
  past_recheck();
  EXPECT_EQ(auth.authenticate_bearer(next->access_token).error().message, "the session has ended; log in again");
  EXPECT_TRUE(auth.logout("ert_never_issued"));  // idempotent
  EXPECT_EQ(auth.logout("bogus").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(AuthServiceTest, BearerFollowsTheUsersStanding) {
  auto s = auth.login("alice@acme.test", kPassword, std::nullopt);
  ASSERT_TRUE(s);
  ASSERT_TRUE(users.set_role(acme, alice, storage::UserRole::kViewer));
  past_recheck();
  auto p = auth.authenticate_bearer(s->access_token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->role, Role::kViewer);  // demotion takes effect before the token expires
  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kDisabled));
  past_recheck();
  EXPECT_EQ(auth.authenticate_bearer(s->access_token).error().message,
            "the user or its business is disabled; log in again");
  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kActive));
  ASSERT_TRUE(users.remove(acme, alice));
  past_recheck();
  EXPECT_FALSE(auth.authenticate_bearer(s->access_token));
}

TEST_F(AuthServiceTest, ApiKeysOfActiveBusinessesAuthenticateAndTheirUseIsFlushed) {
  auto gen = crypto::generate_api_key();
  auto id = keys.create(acme, "dash", gen.prefix, gen.hash, {"embed"});
  ASSERT_TRUE(id);
  auto p = auth.authenticate_api_key(gen.secret);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->kind, Principal::Kind::kApiKey);
  EXPECT_EQ(p->id, *id);
  EXPECT_EQ(p->bid, "acme");
  EXPECT_TRUE(p->has_scope("embed"));
  EXPECT_TRUE(p->has_scope("read"));  // embed implies read
  EXPECT_FALSE(p->has_scope("ingest"));
  EXPECT_FALSE(keys.list(acme)->front().last_used_at);
  EXPECT_EQ(auth.flush_api_key_usage(), 1u);
  EXPECT_EQ(keys.list(acme)->front().last_used_at, storage::to_timestamp(clock.now()));
  EXPECT_EQ(auth.flush_api_key_usage(), 0u);  // nothing used since

  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kDisabled));
  EXPECT_EQ(auth.authenticate_api_key(gen.secret).error().code, ErrorCode::kUnauthenticated);
  ASSERT_TRUE(businesses.set_status(acme, storage::BusinessStatus::kActive));
  ASSERT_TRUE(keys.revoke(acme, *id, storage::to_timestamp(clock.now())));
  EXPECT_EQ(auth.authenticate_api_key(gen.secret).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth.authenticate_api_key("garbage").error().code, ErrorCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, PlatformAdminsNameOnlyExistingActiveBusinesses) {
  EXPECT_TRUE(auth.business_for_admin("acme"));
  EXPECT_EQ(auth.business_for_admin("initech").error().message, "no such business");
  ASSERT_TRUE(businesses.set_status(globex, storage::BusinessStatus::kDisabled));
  EXPECT_EQ(auth.business_for_admin("globex").error().message, "business globex is disabled");
  EXPECT_EQ(auth.business_for_admin("no spaces allowed").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace earshot::api

// `earshot keys status | reseal` through the real binary against the binary's migrated scratch
// database (real MariaDB): pipeline secrets and webhook signing secrets sealed under an old
// master key are sealed again under the new primary key, open with the new key alone, and a
// value under a key that is not configured is reported, not lost.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "process.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

const std::string& bin() {
  static const std::string b = std::string(EARSHOT_BIN_DIR) + "/earshot";
  return b;
}

// The database settings of this binary's scratch database plus the given master keys.
std::string env_prefix(const std::string& keys, const std::string& primary) {
  const auto ep = endpoints();
  return fmt::format(
      "EARSHOT_MYSQL_HOST={} EARSHOT_MYSQL_PORT={} EARSHOT_MYSQL_USER={} EARSHOT_MYSQL_PASSWORD='{}' "
      "EARSHOT_MYSQL_DATABASE={} EARSHOT_MASTER_KEYS='{}' EARSHOT_MASTER_KEY_ID={} ",
      ep.mysql_host, ep.mysql_port, ep.mysql_user, ep.mysql_password, StorageEnvironment::database_name(), keys,
      primary);
}

crypto::Keyring keyring(const std::string& keys, const std::string& primary) {
  auto k = crypto::Keyring::parse(keys, primary);
  EXPECT_TRUE(k.has_value()) << k.error().to_string();
  return *k;
}

// The key id stored beside a sealed value and the one inside the value.
using KeyIds = std::pair<std::string, std::string>;
KeyIds stored_key_ids(const std::string& sql, const std::string& bid) {
  auto r = StorageEnvironment::db().execute(sql, {bid});
  EXPECT_TRUE(r.has_value() && r->rows.size() == 1);
  if (!r || r->rows.size() != 1) return {};
  auto inside = crypto::Keyring::key_id_of(r->rows[0][0].as_string());
  return {r->rows[0][1].as_string(), inside ? *inside : std::string("?")};
}

TEST(KeysCli, ResealMovesEverySealedValueToThePrimaryKey) {
  const std::string k_old = "old:" + crypto::Keyring::generate_key_base64();
  const std::string k_new = "new:" + crypto::Keyring::generate_key_base64();
  auto& db = StorageEnvironment::db();

  // Two businesses with pipeline secrets and a webhook each, sealed under the old key.
  const auto old_keys = keyring(k_old, "old");
  storage::MySqlPipelineConfigRepository old_configs(db, old_keys);
  storage::MySqlDeliveryRepository old_deliveries(db, old_keys);
  std::vector<storage::TenantId> tenants = {new_tenant("keys"), new_tenant("keys")};
  std::vector<storage::Id> hooks;
  for (const auto& t : tenants) {
    storage::PipelineConfig c;
    c.secrets = {{"stt_api_key", "stt-secret-of-" + t.bid()}, {"source_db_password", "db-pw-" + t.bid()}};
    ASSERT_TRUE(old_configs.put(t, c).has_value());
    auto id = old_deliveries.create_subscription(t, "https://hooks.example.com/" + t.bid(), "", {"call.analyzed"},
                                                 "whsec-" + t.bid());
    ASSERT_TRUE(id.has_value()) << id.error().to_string();
    hooks.push_back(*id);
  }
  // A business without secrets has nothing sealed and is not counted.
  const auto plain = new_tenant("keys");
  ASSERT_TRUE(old_configs.put(plain, storage::PipelineConfig{}).has_value());

  const std::string both = env_prefix(k_old + "," + k_new, "new");
  auto before = run_command(both + bin() + " keys status 2>&1");
  ASSERT_EQ(before.exit_code, 0) << before.output;
  EXPECT_NE(before.output.find("primary key id new; configured: old, new"), std::string::npos) << before.output;
  EXPECT_NE(before.output.find("pipeline secrets (business_pipeline_config.secrets_sealed): old 2\n"),
            std::string::npos)
      << before.output;
  EXPECT_NE(before.output.find("webhook signing secrets (webhook_subscriptions.secret_sealed): old 2\n"),
            std::string::npos)
      << before.output;
  EXPECT_NE(before.output.find("4 value(s) under a key other than new"), std::string::npos) << before.output;

  auto reseal = run_command(both + bin() + " keys reseal 2>&1");
  ASSERT_EQ(reseal.exit_code, 0) << reseal.output;
  EXPECT_NE(reseal.output.find("pipeline secrets: 2 resealed under new"), std::string::npos) << reseal.output;
  EXPECT_NE(reseal.output.find("webhook signing secrets: 2 resealed under new"), std::string::npos) << reseal.output;
  EXPECT_NE(reseal.output.find("every sealed value is under new"), std::string::npos) << reseal.output;
  // No secret is ever printed.
  for (const auto& t : tenants) EXPECT_EQ(reseal.output.find(t.bid()), std::string::npos) << reseal.output;

  // The new key alone opens everything, with the same plaintext; column and value agree.
  const auto new_only = keyring(k_new, "new");
  storage::MySqlPipelineConfigRepository new_configs(db, new_only);
  storage::MySqlDeliveryRepository new_deliveries(db, new_only);
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    const auto& t = tenants[i];
    auto c = new_configs.get(t);
    ASSERT_TRUE(c.has_value()) << c.error().to_string();
    EXPECT_EQ(c->secrets.at("stt_api_key"), "stt-secret-of-" + t.bid());
    EXPECT_EQ(c->secrets.at("source_db_password"), "db-pw-" + t.bid());
    auto s = new_deliveries.signing_secret(t, hooks[i]);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    EXPECT_EQ(*s, "whsec-" + t.bid());
    EXPECT_EQ(
        stored_key_ids("SELECT secrets_sealed, secrets_key_id FROM business_pipeline_config WHERE bid = ?", t.bid()),
        KeyIds("new", "new"));
    EXPECT_EQ(stored_key_ids("SELECT secret_sealed, secret_key_id FROM webhook_subscriptions WHERE bid = ?", t.bid()),
              KeyIds("new", "new"));
  }
  // And the old key alone no longer does.
  const auto old_only = keyring(k_old, "old");
  storage::MySqlDeliveryRepository stale(db, old_only);
  EXPECT_FALSE(stale.signing_secret(tenants[0], hooks[0]).has_value());

  // Again: nothing left to do. The status with only the new key configured is clean.
  auto again = run_command(both + bin() + " keys reseal 2>&1");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("pipeline secrets: 0 resealed"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("webhook signing secrets: 0 resealed"), std::string::npos) << again.output;
  auto after = run_command(env_prefix(k_new, "new") + bin() + " keys status 2>&1");
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("webhook signing secrets (webhook_subscriptions.secret_sealed): new 2\n"),
            std::string::npos)
      << after.output;
  EXPECT_NE(after.output.find("every sealed value is under new"), std::string::npos) << after.output;

  // A webhook sealed under a key the command is not given: reported by id and business,
  // left as it is, exit 1; the others are still resealed.
  const std::string k_lost = "lost:" + crypto::Keyring::generate_key_base64();
  const auto lost_keys = keyring(k_lost, "lost");
  storage::MySqlDeliveryRepository lost_deliveries(db, lost_keys);
  const auto t3 = new_tenant("keys");
  auto lost_id = lost_deliveries.create_subscription(t3, "https://hooks.example.com/x", "", {"call.analyzed"}, "lost");
  ASSERT_TRUE(lost_id.has_value());
  auto back_to_old = new_tenant("keys");
  auto old_id = old_deliveries.create_subscription(back_to_old, "https://hooks.example.com/y", "", {"call.analyzed"},
                                                   "whsec-late");
  ASSERT_TRUE(old_id.has_value());
  auto status = run_command(both + bin() + " keys status 2>&1");
  EXPECT_NE(status.output.find("lost 1 (key not configured: cannot be opened)"), std::string::npos) << status.output;
  auto partial = run_command(both + bin() + " keys reseal 2>&1");
  EXPECT_EQ(partial.exit_code, 1) << partial.output;
  EXPECT_NE(partial.output.find(fmt::format("webhook subscription {} of business {}", *lost_id, t3.bid())),
            std::string::npos)
      << partial.output;
  EXPECT_NE(partial.output.find("'lost'"), std::string::npos) << partial.output;  // the key id is named
  EXPECT_NE(partial.output.find("webhook signing secrets: 1 resealed under new, 1 could not be opened"),
            std::string::npos)
      << partial.output;
  auto late = new_deliveries.signing_secret(back_to_old, *old_id);
  ASSERT_TRUE(late.has_value()) << late.error().to_string();
  EXPECT_EQ(*late, "whsec-late");
  EXPECT_EQ(stored_key_ids("SELECT secret_sealed, secret_key_id FROM webhook_subscriptions WHERE bid = ?", t3.bid()),
            KeyIds("lost", "lost"));
}

TEST(KeysCli, BadArgumentsAndKeysAreRefusedWithTheReason) {
  const std::string k = "a:" + crypto::Keyring::generate_key_base64();
  auto none = run_command(bin() + " keys 2>&1");
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("Usage: earshot keys status | reseal"), std::string::npos) << none.output;
  EXPECT_EQ(run_command(env_prefix(k, "a") + bin() + " keys rotate 2>&1").exit_code, 2);
  EXPECT_EQ(run_command(env_prefix(k, "a") + bin() + " keys reseal --now 2>&1").exit_code, 2);
  auto wrong_id = run_command(env_prefix(k, "b") + bin() + " keys reseal 2>&1");
  EXPECT_EQ(wrong_id.exit_code, 2) << wrong_id.output;
  EXPECT_NE(wrong_id.output.find("EARSHOT_MASTER_KEY_ID: 'b' is not in EARSHOT_MASTER_KEYS"), std::string::npos)
      << wrong_id.output;
  auto bad_key = run_command(env_prefix("a:short", "a") + bin() + " keys status 2>&1");
  EXPECT_EQ(bad_key.exit_code, 2) << bad_key.output;
  EXPECT_NE(bad_key.output.find("must be 32 bytes"), std::string::npos) << bad_key.output;
  auto help = run_command(bin() + " keys --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("EARSHOT_MASTER_KEY_ID"), std::string::npos);
  EXPECT_NE(run_command(bin() + " --help").output.find("keys"), std::string::npos);
}

}  // namespace
}  // namespace earshot::testing

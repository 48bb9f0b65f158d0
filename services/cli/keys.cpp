// `earshot keys status | reseal`: master key rotation for operators. Every value sealed at
// rest (libs/crypto Keyring) carries the id of the key it was sealed with, in the value and in
// a column beside it: pipeline secrets (business_pipeline_config) and webhook signing secrets
// (webhook_subscriptions). `status` counts them per key id; `reseal` opens each value not
// under the primary key and seals it again under the primary key, one row per transaction,
// so it may run beside the fleet and be run again.
#include "keys.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cli_env.hpp"
#include "earshot/core/config.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/mysql_settings.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::cli {

namespace {

constexpr std::string_view kUsage =
    "Usage: earshot keys status | reseal\n"
    "  status  count the sealed values (pipeline secrets, webhook signing secrets) per master key id\n"
    "  reseal  re-encrypt every sealed value that is not under EARSHOT_MASTER_KEY_ID with that key,\n"
    "          then print the counts again; safe to run beside the fleet and to run again\n"
    "Rotation: add the new key to EARSHOT_MASTER_KEYS on every binary, then point\n"
    "EARSHOT_MASTER_KEY_ID at it everywhere, run `earshot keys reseal`, and drop the old key\n"
    "once `earshot keys status` shows nothing under it (docs/operations.md).\n"
    "Reads EARSHOT_MYSQL_* and EARSHOT_MASTER_KEYS / EARSHOT_MASTER_KEY_ID from the environment.\n";

// A column of sealed values and the column naming their key.
struct SealedColumn {
  std::string_view what;
  std::string_view table;
  std::string_view value_column;
  std::string_view key_column;
};

constexpr SealedColumn kPipelineSecrets{"pipeline secrets", "business_pipeline_config", "secrets_sealed",
                                        "secrets_key_id"};
constexpr SealedColumn kWebhookSecrets{"webhook signing secrets", "webhook_subscriptions", "secret_sealed",
                                       "secret_key_id"};
constexpr SealedColumn kSealedColumns[] = {kPipelineSecrets, kWebhookSecrets};

// The key ids of "kid:base64,kid:base64" (already validated by Keyring::parse).
std::vector<std::string> configured_key_ids(std::string_view keys) {
  std::vector<std::string> out;
  while (!keys.empty()) {
    const auto comma = keys.find(',');
    const std::string_view item = keys.substr(0, comma);
    const auto colon = item.find(':');
    std::string_view kid = item.substr(0, colon);
    while (!kid.empty() && kid.front() == ' ') kid.remove_prefix(1);
    while (!kid.empty() && kid.back() == ' ') kid.remove_suffix(1);
    if (!kid.empty()) out.emplace_back(kid);
    keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
  }
  return out;
}

// Values per key id of one column (operator-wide: the rotation reads every business's rows).
Result<std::map<std::string, std::int64_t>> count_by_key(storage::Database& db, const SealedColumn& col) {
  auto r = db.execute(
      fmt::format("SELECT {0}, COUNT(*) FROM {1} WHERE {0} IS NOT NULL GROUP BY {0}", col.key_column, col.table));
  if (!r) return std::unexpected(r.error().with_context(col.table));
  std::map<std::string, std::int64_t> out;
  for (const auto& row : r->rows) out[row[0].as_string()] = row[1].as_int();
  return out;
}

// Prints the counts of every column; returns how many values are under another key than the
// primary one, or the first error.
Result<std::int64_t> print_status(storage::Database& db, const crypto::Keyring& keys,
                                  const std::vector<std::string>& configured) {
  std::int64_t elsewhere = 0;
  for (const auto& col : kSealedColumns) {
    auto counts = count_by_key(db, col);
    if (!counts) return std::unexpected(counts.error());
    std::string line;
    for (const auto& [kid, n] : *counts) {
      line += line.empty() ? "" : ", ";
      line += fmt::format("{} {}", kid, n);
      if (std::find(configured.begin(), configured.end(), kid) == configured.end()) {
        line += " (key not configured: cannot be opened)";
      }
      if (kid != keys.primary_key_id()) elsewhere += n;
    }
    std::cout << fmt::format("{} ({}.{}): {}\n", col.what, col.table, col.value_column, line.empty() ? "none" : line);
  }
  if (elsewhere == 0) {
    std::cout << fmt::format("every sealed value is under {}\n", keys.primary_key_id());
  } else {
    std::cout << fmt::format("{} value(s) under a key other than {}\n", elsewhere, keys.primary_key_id());
  }
  return elsewhere;
}

// Seals each webhook signing secret that is not under the primary key again under it; one
// row per transaction, read FOR UPDATE so a concurrent change of the secret is not lost. Goes
// on past a row that cannot be opened (printed) and returns {resealed, failed}.
Result<std::pair<std::int64_t, std::int64_t>> reseal_webhook_secrets(storage::Database& db,
                                                                     const crypto::Keyring& keys) {
  auto r = db.execute("SELECT bid, id FROM webhook_subscriptions WHERE secret_key_id <> ? ORDER BY bid, id",
                      {keys.primary_key_id()});
  if (!r) return std::unexpected(r.error().with_context("webhook_subscriptions"));
  std::int64_t resealed = 0, failed = 0;
  for (const auto& row : r->rows) {
    const std::string bid = row[0].as_string();
    const std::int64_t id = row[1].as_int();
    auto done = db.transaction<bool>([&](storage::Connection& c) -> Result<bool> {
      auto cur = c.execute(
          "SELECT secret_sealed, secret_key_id FROM webhook_subscriptions WHERE id = ? AND bid = ? FOR UPDATE",
          {id, bid});
      if (!cur) return std::unexpected(cur.error());
      // Removed or already resealed (by a write under the new key) since the scan.
      if (cur->rows.empty() || cur->rows[0][1].as_string() == keys.primary_key_id()) return false;
      auto plain = keys.decrypt(cur->rows[0][0].as_string());
      if (!plain) return std::unexpected(plain.error());
      auto up =
          c.execute("UPDATE webhook_subscriptions SET secret_sealed = ?, secret_key_id = ? WHERE id = ? AND bid = ?",
                    {keys.encrypt(*plain), keys.primary_key_id(), id, bid});
      if (!up) return std::unexpected(up.error());
      return true;
    });
    if (!done) {
      ++failed;
      std::cerr << fmt::format("earshot keys reseal: webhook subscription {} of business {}: {}\n", id, bid,
                               done.error().to_string());
      continue;
    }
    if (*done) ++resealed;
  }
  return std::pair{resealed, failed};
}

}  // namespace

int keys(std::span<char*> args) {
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string_view action(args[0]);
  if (action == "--help" || action == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if ((action != "status" && action != "reseal") || args.size() > 1) {
    std::cerr << kUsage;
    return 2;
  }
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  crypto::MasterKeySettings master;
  mysql.declare(spec);
  master.declare(spec);
  if (auto st = spec.load(scoped_env({"MYSQL_", "MASTER_KEY"})); !st) {
    std::cerr << fmt::format("earshot keys: {}\n", st.error().message);
    return 2;
  }
  auto keyring = crypto::Keyring::from_settings(master);
  if (!keyring) {
    std::cerr << fmt::format("earshot keys: {}\n", keyring.error().message);
    return 2;
  }
  const auto configured = configured_key_ids(master.keys);
  mysql.pool_size = 1;
  storage::Database db(mysql);

  if (action == "status") {
    std::cout << fmt::format("primary key id {}; configured: {}\n", keyring->primary_key_id(),
                             fmt::join(configured, ", "));
    auto st = print_status(db, *keyring, configured);
    if (!st) {
      std::cerr << fmt::format("earshot keys status: {}\n", st.error().to_string());
      return 1;
    }
    return 0;
  }

  bool ok = true;
  storage::MySqlPipelineConfigRepository pipeline(db, *keyring);
  if (auto n = pipeline.reseal_all(); n) {
    std::cout << fmt::format("{}: {} resealed under {}\n", kPipelineSecrets.what, *n, keyring->primary_key_id());
  } else {
    ok = false;
    std::cerr << fmt::format("earshot keys reseal: {}: {}\n", kPipelineSecrets.what, n.error().to_string());
  }
  if (auto n = reseal_webhook_secrets(db, *keyring); n) {
    std::cout << fmt::format("{}: {} resealed under {}", kWebhookSecrets.what, n->first, keyring->primary_key_id());
    std::cout << (n->second > 0 ? fmt::format(", {} could not be opened\n", n->second) : std::string("\n"));
    ok = ok && n->second == 0;
  } else {
    ok = false;
    std::cerr << fmt::format("earshot keys reseal: {}: {}\n", kWebhookSecrets.what, n.error().to_string());
  }
  auto left = print_status(db, *keyring, configured);
  if (!left) {
    std::cerr << fmt::format("earshot keys reseal: {}\n", left.error().to_string());
    return 1;
  }
  if (ok && *left > 0) {
    // Written meanwhile by a binary whose EARSHOT_MASTER_KEY_ID is still the old one.
    std::cout << "run again once every binary seals under the primary key\n";
  }
  return ok ? 0 : 1;
}

}  // namespace earshot::cli

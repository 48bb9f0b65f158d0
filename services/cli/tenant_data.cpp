// `earshot business export` and `earshot business erase`: a business's data out of the
// platform, then out of existence (the access and deletion requests contact centers must
// honour). Both work over every table that has a `bid` column (found in the schema, so a table
// added by a later migration is covered without a change here), the recordings of the
// business's calls in the object store, its queues and its Redis keys.
#include "tenant_data.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>

#include "cli_env.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::cli {

namespace {

namespace fs = std::filesystem;

// Columns never written to an export: credentials and sealed secrets are the platform's, not
// the business's data, and a file is no place for them.
const std::set<std::string, std::less<>> kWithheldColumns = {"password_hash",  "key_hash",      "token_hash",
                                                             "secrets_sealed", "secret_sealed", "secret_hash"};

constexpr int kPage = 1000;

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      n = 1;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // a sequence cut short
    for (std::size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

nlohmann::json to_json(const storage::Value& v) {
  const auto& st = v.storage();
  if (std::holds_alternative<std::monostate>(st)) return nullptr;
  if (const auto* i = std::get_if<std::int64_t>(&st)) return *i;
  if (const auto* d = std::get_if<double>(&st)) return *d;
  if (const auto* t = std::get_if<storage::Timestamp>(&st)) {
    // UTC with milliseconds: 2026-12-06T20:15:03.123Z
    const auto days = std::chrono::floor<std::chrono::days>(*t);
    const std::chrono::year_month_day ymd(days);
    const std::chrono::hh_mm_ss hms(*t - days);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                       hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
  }
  const auto& s = std::get<std::string>(st);
  if (valid_utf8(s)) return s;
  return nlohmann::json{{"base64", crypto::base64_encode(s)}};
}

// The tables holding rows of a business (a `bid` column), the businesses row last (other
// tables reference it), with whether each has an `id` column to page by.
struct Table {
  std::string name;
  bool has_id = false;
};

Result<std::vector<Table>> tenant_tables(storage::Database& db) {
  auto r = db.execute(
      "SELECT c.TABLE_NAME, MAX(i.COLUMN_NAME IS NOT NULL) FROM information_schema.COLUMNS c "
      "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
      "AND t.TABLE_TYPE = 'BASE TABLE' "
      "LEFT JOIN information_schema.COLUMNS i ON i.TABLE_SCHEMA = c.TABLE_SCHEMA AND i.TABLE_NAME = c.TABLE_NAME "
      "AND i.COLUMN_NAME = 'id' "
      "WHERE c.TABLE_SCHEMA = DATABASE() AND c.COLUMN_NAME = 'bid' GROUP BY c.TABLE_NAME ORDER BY c.TABLE_NAME",
      {});
  if (!r) return std::unexpected(r.error());
  std::vector<Table> out;
  std::optional<Table> businesses;
  for (const auto& row : r->rows) {
    Table t{row[0].as_string(), row[1].as_int() != 0};
    // Names come from the schema, but they go into SQL text: only plain identifiers.
    if (t.name.empty() || t.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      return make_error(ErrorCode::kInternal, "unexpected table name in the schema: " + t.name);
    }
    if (t.name == "businesses") {
      businesses = t;
    } else {
      out.push_back(std::move(t));
    }
  }
  if (businesses) out.push_back(*businesses);
  return out;
}

struct Env {
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  queue::TopologySettings topology;
  cache::RedisSettings redis;
  objectstore::ObjectStoreSettings objects;
  crypto::MasterKeySettings master;
};

Status load_env(ConfigSpec& spec, Env& e) {
  e.mysql.declare(spec);
  e.amqp.declare(spec);
  e.topology.declare(spec);
  e.redis.declare(spec);
  e.objects.declare(spec);
  e.master.declare(spec);
  if (auto st = spec.load(scoped_env({"MYSQL_", "AMQP_", "QUEUE_", "REDIS_", "OBJECT_STORE", "S3_", "MASTER_KEY"}));
      !st) {
    return st;
  }
  if (auto st = e.topology.resolve(); !st) return st;
  return e.objects.validate();
}

// Parses `--bid B` plus the options named in `valued` (each takes a value) and `flags`.
struct Options {
  std::string bid;
  std::map<std::string, std::string, std::less<>> values;
};

Result<Options> parse_options(std::span<char*> args, std::initializer_list<std::string_view> valued) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    const bool known = a == "--bid" || std::find(valued.begin(), valued.end(), a) != valued.end();
    if (!known || i + 1 >= args.size())
      return make_error(ErrorCode::kInvalidArgument, fmt::format("bad option '{}'", a));
    const std::string v(args[++i]);
    if (a == "--bid") {
      o.bid = v;
    } else {
      o.values[std::string(a)] = v;
    }
  }
  if (o.bid.empty()) return make_error(ErrorCode::kInvalidArgument, "--bid is required");
  if (!queue::is_valid_bid(o.bid)) return make_error(ErrorCode::kInvalidArgument, "--bid is not a valid business id");
  return o;
}

bool business_exists(storage::Database& db, const std::string& bid) {
  auto r = db.execute("SELECT 1 FROM businesses WHERE bid = ?", {bid});
  return r && !r->rows.empty();
}

// Writes `path` through a temporary file renamed into place when complete, so a file that
// exists is whole (a restarted export skips it).
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path) : path_(std::move(path)), tmp_(path_.string() + ".partial"), out_(tmp_) {}
  std::ofstream& out() { return out_; }
  [[nodiscard]] bool good() const { return out_.good(); }
  bool commit() {
    out_.close();
    if (!out_) return false;
    std::error_code ec;
    fs::rename(tmp_, path_, ec);
    return !ec;
  }

 private:
  fs::path path_;
  fs::path tmp_;
  std::ofstream out_;
};

Result<std::int64_t> export_table(storage::Database& db, const Table& t, const std::string& bid, const fs::path& dir) {
  AtomicFile file(dir / (t.name + ".jsonl"));
  if (!file.good()) return make_error(ErrorCode::kUnavailable, "cannot write " + (dir / t.name).string());
  std::int64_t rows = 0;
  std::int64_t after = -1;
  while (true) {
    // Keyset pages by id where the table has one; otherwise the whole (small, per-business
    // configuration) table at once.
    auto r = t.has_id ? db.execute(fmt::format("SELECT * FROM {} WHERE bid = ? AND id > ? ORDER BY id LIMIT ?", t.name),
                                   {bid, after, kPage})
                      : db.execute(fmt::format("SELECT * FROM {} WHERE bid = ?", t.name), {bid});
    if (!r) return std::unexpected(r.error());
    std::size_t id_col = r->columns.size();
    for (std::size_t c = 0; c < r->columns.size(); ++c) {
      if (r->columns[c] == "id") id_col = c;
    }
    for (const auto& row : r->rows) {
      nlohmann::json j = nlohmann::json::object();
      for (std::size_t c = 0; c < r->columns.size() && c < row.size(); ++c) {
        j[r->columns[c]] = kWithheldColumns.contains(r->columns[c]) ? nlohmann::json("[withheld]") : to_json(row[c]);
      }
      file.out() << j.dump() << '\n';
      ++rows;
      if (id_col < row.size()) after = row[id_col].as_int();
    }
    if (!t.has_id || static_cast<int>(r->rows.size()) < kPage) break;
  }
  if (!file.commit()) return make_error(ErrorCode::kUnavailable, "cannot finish " + t.name + ".jsonl");
  return rows;
}

std::string file_name_for(std::int64_t call_id, std::string_view uri) {
  const auto dot = uri.rfind('.');
  const auto slash = uri.rfind('/');
  std::string ext;
  if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash) && uri.size() - dot <= 6) {
    ext = std::string(uri.substr(dot));
    if (ext.find_first_not_of(".abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos) ext.clear();
  }
  return fmt::format("{}{}", call_id, ext);
}

// The calls' recordings in the object store under the business's prefix: (call id, uri).
// With `redacted`, their redacted copies (transcripts.redacted_audio_uri) too.
Result<std::vector<std::pair<std::int64_t, std::string>>> owned_recordings(storage::Database& db,
                                                                           objectstore::ObjectStore& store,
                                                                           const std::string& bid,
                                                                           bool redacted = false) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  const char* const queries[] = {
      "SELECT id, audio_uri FROM call_records WHERE bid = ? AND id > ? AND audio_uri <> '' ORDER BY id LIMIT ?",
      "SELECT call_id, redacted_audio_uri FROM transcripts WHERE bid = ? AND call_id > ? AND "
      "redacted_audio_uri <> '' ORDER BY call_id LIMIT ?"};
  for (const char* sql : std::span(queries, redacted ? 2 : 1)) {
    std::int64_t after = 0;
    while (true) {
      auto r = db.execute(sql, {bid, after, kPage});
      if (!r) return std::unexpected(r.error());
      for (auto& row : r->rows) {
        after = row[0].as_int();
        std::string uri = row[1].take_string();
        if (store.owns(uri) && store.owned_by(uri, bid)) out.emplace_back(after, std::move(uri));
      }
      if (static_cast<int>(r->rows.size()) < kPage) break;
    }
  }
  return out;
}

std::string erase_code(const crypto::Keyring& keys, const std::string& bid) {
  const std::string key = keys.derive_key("earshot.erase-confirmation.v1");
  unsigned char mac[crypto_generichash_BYTES];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(bid.data()), bid.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  std::string out;
  for (std::size_t i = 0; i < 4; ++i) out += fmt::format("{:02x}", mac[i]);
  return out;
}

int run_export(std::span<char*> args) {
  ConfigSpec spec;
  Env env;
  auto opts = parse_options(args, {"--out"});
  if (!opts || !opts->values.contains("--out")) {
    std::cerr << "earshot business export: " << (opts ? "--out DIR is required" : opts.error().message) << "\n";
    return 2;
  }
  if (auto st = load_env(spec, env); !st) {
    std::cerr << fmt::format("earshot business export: {}\n", st.error().message);
    return 2;
  }
  env.mysql.pool_size = 2;
  storage::Database db(env.mysql);
  const std::string& bid = opts->bid;
  if (!business_exists(db, bid)) {
    std::cerr << fmt::format("earshot business export: no business '{}': nothing to export\n", bid);
    return 3;
  }
  const fs::path dir(opts->values.at("--out"));
  std::error_code ec;
  fs::create_directories(dir / "recordings", ec);
  if (ec) {
    std::cerr << fmt::format("earshot business export: cannot create {}: {}\n", dir.string(), ec.message());
    return 1;
  }
  auto tables = tenant_tables(db);
  if (!tables) {
    std::cerr << fmt::format("earshot business export: {}\n", tables.error().to_string());
    return 1;
  }
  nlohmann::json manifest{{"bid", bid}, {"tables", nlohmann::json::object()}};
  std::int64_t total_rows = 0;
  for (const auto& t : *tables) {
    const fs::path done = dir / (t.name + ".jsonl");
    if (fs::exists(done)) {  // a restarted export: this table was finished before
      std::ifstream in(done);
      std::int64_t n = 0;
      for (std::string line; std::getline(in, line);) ++n;
      manifest["tables"][t.name] = n;
      total_rows += n;
      continue;
    }
    auto n = export_table(db, t, bid, dir);
    if (!n) {
      std::cerr << fmt::format("earshot business export: table {}: {} (run again to resume)\n", t.name,
                               n.error().to_string());
      return 1;
    }
    manifest["tables"][t.name] = *n;
    total_rows += *n;
  }
  http::CurlHttpClient http;
  auto store = objectstore::ObjectStores::make(env.objects, &http, SystemClock::instance());
  if (!store) {
    std::cerr << fmt::format("earshot business export: object store: {}\n", store.error().message);
    return 1;
  }
  auto recordings = owned_recordings(db, **store, bid);
  if (!recordings) {
    std::cerr << fmt::format("earshot business export: {}\n", recordings.error().to_string());
    return 1;
  }
  std::int64_t copied = 0;
  std::int64_t missing = 0;
  for (const auto& [call_id, uri] : *recordings) {
    const fs::path target = dir / "recordings" / file_name_for(call_id, uri);
    if (fs::exists(target)) {
      ++copied;
      continue;
    }
    auto bytes = (*store)->read(uri, std::uint64_t{8} << 30);
    if (!bytes) {
      if (bytes.error().code == ErrorCode::kNotFound) {
        ++missing;
        continue;
      }
      std::cerr << fmt::format("earshot business export: recording of call {}: {} (run again to resume)\n", call_id,
                               bytes.error().message);
      return 1;
    }
    AtomicFile f(target);
    f.out().write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
    if (!f.commit()) {
      std::cerr << fmt::format("earshot business export: cannot write {}\n", target.string());
      return 1;
    }
    ++copied;
  }
  manifest["recordings"] = copied;
  manifest["recordings_missing"] = missing;
  {
    AtomicFile f(dir / "manifest.json");
    f.out() << manifest.dump(2) << '\n';
    (void)f.commit();
  }
  std::cout << fmt::format("exported business '{}' to {}: {} rows in {} tables, {} recordings ({} missing)\n", bid,
                           dir.string(), total_rows, tables->size(), copied, missing);
  return 0;
}

int run_erase(std::span<char*> args) {
  ConfigSpec spec;
  Env env;
  auto opts = parse_options(args, {"--confirm"});
  if (!opts) {
    std::cerr << "earshot business erase: " << opts.error().message << "\n";
    return 2;
  }
  if (auto st = load_env(spec, env); !st) {
    std::cerr << fmt::format("earshot business erase: {}\n", st.error().message);
    return 2;
  }
  auto keys = crypto::Keyring::from_settings(env.master);
  if (!keys) {
    std::cerr << fmt::format("earshot business erase: {}\n", keys.error().message);
    return 2;
  }
  env.mysql.pool_size = 2;
  storage::Database db(env.mysql);
  const std::string& bid = opts->bid;
  const std::string code = erase_code(*keys, bid);
  auto tables = tenant_tables(db);
  if (!tables) {
    std::cerr << fmt::format("earshot business erase: {}\n", tables.error().to_string());
    return 1;
  }
  http::CurlHttpClient http;
  auto store = objectstore::ObjectStores::make(env.objects, &http, SystemClock::instance());
  if (!store) {
    std::cerr << fmt::format("earshot business erase: object store: {}\n", store.error().message);
    return 1;
  }
  auto recordings = owned_recordings(db, **store, bid, true);
  if (!recordings) {
    std::cerr << fmt::format("earshot business erase: {}\n", recordings.error().to_string());
    return 1;
  }

  const auto confirm = opts->values.find("--confirm");
  if (confirm == opts->values.end()) {
    // Step one: what would go, and the code that makes it go.
    std::cout << fmt::format("business '{}'{} holds:\n", bid, business_exists(db, bid) ? "" : " (not registered)");
    for (const auto& t : *tables) {
      auto n = db.execute(fmt::format("SELECT COUNT(*) FROM {} WHERE bid = ?", t.name), {bid});
      if (n && n->rows[0][0].as_int() > 0)
        std::cout << fmt::format("  {:<28} {} rows\n", t.name, n->rows[0][0].as_int());
    }
    std::cout << fmt::format("  {:<28} {}\n", "recordings", recordings->size());
    std::cout << fmt::format(
        "This deletes all of it, its queues and its cached data, for good. To go ahead, run:\n"
        "  earshot business erase --bid {} --confirm {}\n",
        bid, code);
    return 0;
  }
  if (confirm->second != code) {
    std::cerr << "earshot business erase: wrong confirmation code (run without --confirm to see it)\n";
    return 2;
  }

  // 1. Recordings first: a failure leaves the rows that name them, so a second run finds them.
  std::int64_t objects = 0;
  for (const auto& [call_id, uri] : *recordings) {
    if (auto st = (*store)->remove(uri); !st) {
      std::cerr << fmt::format("earshot business erase: recording of call {}: {} (run again)\n", call_id,
                               st.error().message);
      return 1;
    }
    ++objects;
  }
  // 2. Rows, table by table in bounded deletes, the businesses row last.
  nlohmann::json report{{"bid", bid}, {"recordings", objects}, {"tables", nlohmann::json::object()}};
  for (const auto& t : *tables) {
    std::int64_t removed = 0;
    while (true) {
      auto r = db.execute(fmt::format("DELETE FROM {} WHERE bid = ? LIMIT 5000", t.name), {bid});
      if (!r) {
        std::cerr << fmt::format("earshot business erase: table {}: {} (run again)\n", t.name, r.error().to_string());
        return 1;
      }
      removed += static_cast<std::int64_t>(r->affected_rows);
      if (r->affected_rows < 5000) break;
    }
    if (removed > 0) report["tables"][t.name] = removed;
  }
  // 3. Queues of every stage (work, retry tiers, dead letters).
  std::int64_t queues = 0;
  {
    queue::TopologyAdmin admin(env.amqp, env.topology);
    for (auto stage : queue::kAllStages) {
      const std::string q = queue::work_queue(stage, bid);
      auto depth = admin.queue_depth(q);
      if (!depth && depth.error().code == ErrorCode::kNotFound) continue;  // gone already
      if (auto st = admin.delete_business(stage, bid); !st) {
        std::cerr << fmt::format("earshot business erase: queues of {}: {} (run again)\n", q, st.error().message);
        return 1;
      }
      ++queues;
    }
  }
  report["queues"] = queues;
  // 4. Redis: keys with the bid as a whole segment (live events, usage, provider errors).
  std::int64_t redis_keys = 0;
  if (!env.redis.url.empty()) {
    auto redis = cache::RedisClient::make(env.redis, 1);
    if (!redis) {
      std::cerr << fmt::format("earshot business erase: redis: {}\n", redis.error().message);
      return 1;
    }
    for (const std::string& pattern : {fmt::format("earshot:*:{}", bid), fmt::format("earshot:*:{}:*", bid)}) {
      std::string cursor = "0";
      do {
        auto r = (*redis)->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        if (!r || r->elements.size() != 2) {
          std::cerr << "earshot business erase: redis SCAN failed (run again)\n";
          return 1;
        }
        cursor = r->elements[0].str;
        for (const auto& key : r->elements[1].elements) {
          auto d = (*redis)->command({"DEL", key.str});
          if (d) redis_keys += d->integer;
        }
      } while (cursor != "0");
    }
  }
  report["redis_keys"] = redis_keys;
  std::cout << report.dump(2) << "\n";
  return 0;
}

}  // namespace

int tenant_export(std::span<char*> args) {
  return run_export(args);
}

int tenant_erase(std::span<char*> args) {
  return run_erase(args);
}

}  // namespace earshot::cli

#include "earshot/storage/migrator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "earshot/crypto/base64.hpp"

namespace earshot::storage {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT UNSIGNED NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " checksum CHAR(64) CHARACTER SET ascii NOT NULL,"
    " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

struct Applied {
  std::string name;
  std::string checksum;
  Timestamp applied_at;
};

Result<std::map<int, Applied>> read_applied(Connection& c) {
  if (auto r = c.execute(kCreateTable); !r) return std::unexpected(r.error());
  auto rows = c.execute("SELECT version, name, checksum, applied_at FROM schema_migrations");
  if (!rows) return std::unexpected(rows.error());
  std::map<int, Applied> out;
  for (const auto& row : rows->rows) {
    out[static_cast<int>(row[0].as_int())] = Applied{row[1].as_string(), row[2].as_string(), row[3].as_time()};
  }
  return out;
}

// Releases the named lock when the migration run ends, whatever the path.
class NamedLock {
 public:
  NamedLock(Connection& c, std::string name) : c_(c), name_(std::move(name)) {}
  ~NamedLock() {
    if (held_) (void)c_.execute("SELECT RELEASE_LOCK(?)", {name_});
  }
  NamedLock(const NamedLock&) = delete;
  NamedLock& operator=(const NamedLock&) = delete;

  Status acquire(std::chrono::seconds timeout) {
    auto r = c_.execute("SELECT GET_LOCK(?, ?)", {name_, static_cast<long>(timeout.count())});
    if (!r) return std::unexpected(r.error());
    if (r->rows.empty() || r->rows[0][0].as_int(0) != 1) {
      return make_error(ErrorCode::kTimeout,
                        fmt::format("another migration holds lock '{}' for more than {} s", name_, timeout.count()));
    }
    held_ = true;
    return {};
  }

 private:
  Connection& c_;
  std::string name_;
  bool held_ = false;
};

}  // namespace

Result<Migration> make_migration(std::string_view file_name, std::string sql) {
  const auto us = file_name.find('_');
  const bool shape = file_name.ends_with(".sql") && us != std::string_view::npos && us >= 1 &&
                     us + 1 < file_name.size() - 4 &&
                     std::all_of(file_name.begin(), file_name.begin() + static_cast<long>(us),
                                 [](char c) { return c >= '0' && c <= '9'; });
  if (!shape) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("migration file '{}' is not named NNNN_name.sql", file_name));
  }
  Migration m;
  m.version = std::stoi(std::string(file_name.substr(0, us)));
  m.name = std::string(file_name.substr(us + 1, file_name.size() - us - 1 - 4));
  m.file_name = std::string(file_name);
  m.checksum = crypto::hex_encode(crypto::sha256(sql));
  m.sql = std::move(sql);
  if (m.version <= 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("migration file '{}': version must be positive", file_name));
  }
  return m;
}

Result<std::vector<Migration>> load_migrations_from_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<Migration> out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string fname = entry.path().filename().string();
    if (!entry.is_regular_file() || !fname.ends_with(".sql")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto m = make_migration(fname, ss.str());
    if (!m) return std::unexpected(m.error());
    out.push_back(std::move(*m));
  }
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("cannot read migrations directory '{}': {}", dir, ec.message()));
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("migrations '{}' and '{}' share version {}", out[i - 1].file_name, out[i].file_name,
                                    out[i].version));
    }
  }
  return out;
}

Result<std::vector<std::string>> split_sql_statements(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    const auto b = cur.find_first_not_of(" \t\r\n");
    if (b != std::string::npos) {
      const auto e = cur.find_last_not_of(" \t\r\n");
      out.push_back(cur.substr(b, e - b + 1));
    }
    cur.clear();
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c == '\'' || c == '"' || c == '`') {
      const std::size_t start = i;
      cur.push_back(c);
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char d = s[i];
        cur.push_back(d);
        ++i;
        if (d == '\\' && c != '`' && i < s.size()) {
          cur.push_back(s[i]);
          ++i;
        } else if (d == c) {
          if (i < s.size() && s[i] == c) {  // doubled quote is an escaped quote
            cur.push_back(s[i]);
            ++i;
          } else {
            closed = true;
            break;
          }
        }
      }
      if (!closed) {
        return make_error(ErrorCode::kInvalidArgument, fmt::format("unterminated {} quote at offset {}", c, start));
      }
    } else if ((c == '-' && next == '-' &&
                (i + 2 >= s.size() || s[i + 2] == ' ' || s[i + 2] == '\t' || s[i + 2] == '\n' || s[i + 2] == '\r')) ||
               c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '/' && next == '*') {
      const auto end = s.find("*/", i + 2);
      if (end == std::string_view::npos) {
        return make_error(ErrorCode::kInvalidArgument, fmt::format("unterminated comment at offset {}", i));
      }
      cur.push_back(' ');
      i = end + 2;
    } else if (c == ';') {
      flush();
      ++i;
    } else {
      cur.push_back(c);
      ++i;
    }
  }
  flush();
  return out;
}

Migrator::Migrator(Database& db, std::vector<Migration> migrations, std::chrono::seconds lock_timeout)
    : db_(db), migrations_(std::move(migrations)), lock_timeout_(lock_timeout) {
  std::sort(migrations_.begin(), migrations_.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
}

Result<std::vector<MigrationStatus>> Migrator::status() {
  auto lease = db_.acquire();
  if (!lease) return std::unexpected(lease.error());
  auto applied = read_applied(**lease);
  if (!applied) return std::unexpected(applied.error());
  std::vector<MigrationStatus> out;
  for (const auto& m : migrations_) {
    MigrationStatus st;
    st.version = m.version;
    st.file_name = m.file_name;
    if (auto it = applied->find(m.version); it != applied->end()) {
      st.applied = true;
      st.applied_at = it->second.applied_at;
      st.changed = it->second.checksum != m.checksum;
      applied->erase(it);
    }
    out.push_back(std::move(st));
  }
  for (const auto& [version, a] : *applied) {
    MigrationStatus st;
    st.version = version;
    st.file_name = fmt::format("{:04}_{}.sql", version, a.name);
    st.applied = true;
    st.applied_at = a.applied_at;
    st.file_missing = true;
    out.push_back(std::move(st));
  }
  std::sort(out.begin(), out.end(),
            [](const MigrationStatus& a, const MigrationStatus& b) { return a.version < b.version; });
  return out;
}

Result<std::vector<int>> Migrator::migrate() {
  auto lease = db_.acquire();
  if (!lease) return std::unexpected(lease.error());
  Connection& c = **lease;
  // Named locks are server-wide; scope it to this database so separate databases on one
  // server (tests, benches) do not wait for each other.
  auto db_name = c.execute("SELECT DATABASE()");
  if (!db_name) return std::unexpected(db_name.error());
  const std::string schema = db_name->rows.empty() ? "" : db_name->rows[0][0].as_string();
  if (schema.empty()) {
    return make_error(ErrorCode::kFailedPrecondition, "migrate: no database selected");
  }
  NamedLock lock(c, "earshot_migrate:" + schema);
  if (auto st = lock.acquire(lock_timeout_); !st) return std::unexpected(st.error());

  auto applied = read_applied(c);
  if (!applied) return std::unexpected(applied.error());
  for (const auto& m : migrations_) {
    auto it = applied->find(m.version);
    if (it != applied->end() && it->second.checksum != m.checksum) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("migration {} was changed after it was applied (recorded "
                                    "checksum {}, file has {}); add a new migration instead",
                                    m.file_name, it->second.checksum.substr(0, 12), m.checksum.substr(0, 12)));
    }
  }
  std::vector<int> done;
  for (const auto& m : migrations_) {
    if (applied->contains(m.version)) continue;
    auto statements = split_sql_statements(m.sql);
    if (!statements) return std::unexpected(statements.error().with_context(m.file_name));
    for (std::size_t i = 0; i < statements->size(); ++i) {
      if (auto r = c.execute((*statements)[i]); !r) {
        return std::unexpected(r.error().with_context(fmt::format("{} statement {}", m.file_name, i + 1)));
      }
    }
    if (auto r = c.execute("INSERT INTO schema_migrations (version, name, checksum) "
                           "VALUES (?, ?, ?)",
                           {m.version, m.name, m.checksum});
        !r) {
      return std::unexpected(r.error().with_context(m.file_name));
    }
    done.push_back(m.version);
  }
  return done;
}

}  // namespace earshot::storage

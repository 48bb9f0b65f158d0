// `earshot admin create|list|disable|enable`: platform admins, from the command line (the
// API has no route that creates them: the first one must come from an operator).
//
// The password is read from a file (--password-file) or from EARSHOT_ADMIN_PASSWORD, never
// from the command line: arguments are visible to every user of the machine (ps, /proc)
// and stay in shell history.
#include "admin.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "cli_args.hpp"
#include "cli_env.hpp"
#include "earshot/api/auth.hpp"
#include "earshot/core/config.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::cli {
namespace {

const char* const kUsage =
    "Usage: earshot admin create --email E [--password-file PATH]\n"
    "       earshot admin list\n"
    "       earshot admin disable --email E\n"
    "       earshot admin enable --email E\n\n"
    "Platform admins: they register businesses and may act on any of them.\n"
    "  create   adds one; the password comes from --password-file PATH (its first line)\n"
    "           or from EARSHOT_ADMIN_PASSWORD, at least 12 characters. Never from the\n"
    "           command line (--password is refused): arguments are visible to every user\n"
    "           of the machine and stay in shell history. An e-mail already used by an\n"
    "           admin or by any business's user is refused.\n"
    "  list     prints id, e-mail, enabled and created of every admin.\n"
    "  disable  refuses the admin's logins; tokens already issued stop working within\n"
    "           seconds (the gateway re-reads an admin's standing every 2 s).\n"
    "  enable   lets a disabled admin log in again.\n";

constexpr std::size_t kMinPassword = 12;

Result<std::string> read_password(const std::optional<std::string>& file) {
  std::string pw;
  if (file) {
    std::optional<std::string> line = first_line_of(*file);
    if (!line) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("no password in the file '{}'", *file));
    }
    pw = std::move(*line);
  } else if (const char* env = std::getenv("EARSHOT_ADMIN_PASSWORD")) {
    pw = env;
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "no password: give --password-file PATH or set EARSHOT_ADMIN_PASSWORD");
  }
  if (pw.size() < kMinPassword) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the password must be at least {} characters", kMinPassword));
  }
  if (pw.size() > 1024) return make_error(ErrorCode::kInvalidArgument, "the password is longer than 1024 characters");
  return pw;
}

}  // namespace

int admin(std::span<char*> args) {
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  mysql.declare(spec);
  if (args.empty() || std::string_view(args[0]) == "--help" || std::string_view(args[0]) == "-h") {
    std::cout << kUsage << "\n" << spec.help_text();
    return args.empty() ? 2 : 0;
  }
  const std::string sub(args[0]);
  if (sub != "create" && sub != "list" && sub != "disable" && sub != "enable") {
    std::cerr << fmt::format("earshot admin: unknown subcommand '{}'\n{}", sub, kUsage);
    return 2;
  }
  std::optional<std::string> email, password_file;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    if (a == "--password" || a.starts_with("--password=")) {
      std::cerr << "earshot admin: --password is not accepted: a password on the command line is visible to "
                   "every user of the machine (ps, /proc) and stays in shell history. Put it in a file "
                   "readable only by you and give --password-file PATH, or set EARSHOT_ADMIN_PASSWORD.\n";
      return 2;
    }
    if ((a == "--email" || a == "--password-file") && i + 1 < args.size() && sub != "list") {
      (a == "--email" ? email : password_file) = std::string(args[++i]);
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage << "\n" << spec.help_text();
      return 0;
    } else {
      std::cerr << fmt::format("earshot admin {}: bad option '{}'\n{}", sub, a, kUsage);
      return 2;
    }
  }
  if (sub != "list" && (!email || email->find('@') == std::string::npos || email->size() > 255)) {
    std::cerr << fmt::format("earshot admin {}: --email must be an e-mail address\n", sub);
    return 2;
  }
  if (sub != "create" && password_file) {
    std::cerr << fmt::format("earshot admin {}: --password-file is for create only\n", sub);
    return 2;
  }
  const std::string address = email.value_or("");  // checked above for every subcommand but list
  std::string password;
  if (sub == "create") {
    auto pw = read_password(password_file);
    if (!pw) {
      std::cerr << fmt::format("earshot admin create: {}\n", pw.error().message);
      return 2;
    }
    password = std::move(*pw);
  }
  if (auto st = spec.load(scoped_env({"MYSQL_"})); !st) {
    std::cerr << fmt::format("earshot admin: {}\n", st.error().message);
    return 2;
  }
  mysql.pool_size = 1;
  storage::Database db(mysql);
  // Platform admins only: the user repository alone (the whole bundle would need the master key).
  storage::MySqlUserRepository mysql_users(db);
  storage::UserRepository& users = mysql_users;

  if (sub == "create") {
    auto hash = crypto::hash_password(password);
    if (!hash) {
      std::cerr << fmt::format("earshot admin create: {}\n", hash.error().to_string());
      return 1;
    }
    auto id = users.create_platform_admin(address, *hash);
    if (!id) {
      std::cerr << fmt::format("earshot admin create: {}\n", id.error().message);
      return 1;
    }
    std::cout << fmt::format("created platform admin {} (id {})\n", address, *id);
    return 0;
  }
  if (sub == "list") {
    auto all = users.list_platform_admins();
    if (!all) {
      std::cerr << fmt::format("earshot admin list: {}\n", all.error().to_string());
      return 1;
    }
    std::cout << fmt::format("{:<6} {:<40} {:<8} {}\n", "ID", "EMAIL", "ENABLED", "CREATED");
    for (const auto& a : *all) {
      std::cout << fmt::format("{:<6} {:<40} {:<8} {:%Y-%m-%dT%H:%M:%SZ}\n", a.id, a.email, a.disabled ? "no" : "yes",
                               std::chrono::floor<std::chrono::seconds>(a.created_at));
    }
    return 0;
  }
  const bool disable = sub == "disable";
  auto changed = users.set_platform_admin_disabled(address, disable);
  if (!changed) {
    std::cerr << fmt::format("earshot admin {}: {}\n", sub, changed.error().to_string());
    return 1;
  }
  if (!*changed) {
    std::cerr << fmt::format("earshot admin {}: no platform admin {}\n", sub, address);
    return 1;
  }
  if (disable) {
    std::cout << fmt::format("disabled platform admin {}; tokens already issued stop working within {} s\n", address,
                             api::AuthService::kAccessRecheck.count());
  } else {
    std::cout << fmt::format("enabled platform admin {}\n", address);
  }
  return 0;
}

}  // namespace earshot::cli

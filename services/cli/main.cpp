// earshot: the admin command line. Subcommands are registered in kCommands; each parses its
// own arguments and returns the process exit code (0 ok, 1 failed, 2 usage or config error).
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <functional>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "admin.hpp"
#include "analyze_file.hpp"
#include "ask.hpp"
#include "business.hpp"
#include "cli_env.hpp"
#include "demo_data.hpp"
#include "dlq.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/service.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_settings.hpp"
#include "earshot/storage/sql.hpp"
#include "keys.hpp"
#include "seed_demo.hpp"
#include "sync.hpp"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  std::function<int(std::span<char*>)> run;
};

int print_usage(const std::vector<Command>& commands, std::ostream& out) {
  out << fmt::format("earshot {} - Earshot admin command line\n\n", earshot::build_version());
  out << "Usage: earshot <command> [options]\n       earshot --help | --version\n\nCommands:\n";
  for (const auto& c : commands) out << fmt::format("  {:<12} {}\n", c.name, c.summary);
  out << "\nConfiguration comes from EARSHOT_* environment variables, as for the services;\n"
         "`earshot <command> --help` lists a command's options.\n";
  return 0;
}

// earshot migrate [--status] [--dir DIR]: applies pending migrations (or lists applied and
// pending ones) on the EARSHOT_MYSQL_* database. Safe to run from several processes at once.
int run_migrate(std::span<char*> args) {
  bool status_only = false;
  std::string dir;
  earshot::ConfigSpec spec;
  earshot::storage::MySqlSettings mysql;
  mysql.declare(spec);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    if (a == "--status") {
      status_only = true;
    } else if (a == "--dir" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (a == "--help" || a == "-h") {
      std::cout << "Usage: earshot migrate [--status] [--dir DIR]\n\n"
                   "Applies pending schema migrations in order (the ones built into this binary,\n"
                   "or the NNNN_name.sql files of DIR). --status lists applied and pending ones.\n"
                   "Refuses to run when an applied migration file was changed.\n\n"
                << spec.help_text();
      return 0;
    } else {
      std::cerr << fmt::format("earshot migrate: unknown option '{}'\n", a);
      return 2;
    }
  }
  if (auto st = spec.load(earshot::cli::scoped_env({"MYSQL_"})); !st) {
    std::cerr << fmt::format("earshot migrate: {}\n", st.error().to_string());
    return 2;
  }
  std::vector<earshot::storage::Migration> migrations;
  if (dir.empty()) {
    migrations = earshot::storage::embedded_migrations();
  } else {
    auto loaded = earshot::storage::load_migrations_from_dir(dir);
    if (!loaded) {
      std::cerr << fmt::format("earshot migrate: {}\n", loaded.error().to_string());
      return 2;
    }
    migrations = std::move(*loaded);
  }
  mysql.pool_size = 1;
  // DDL on a big table (adding an index) can run for many minutes.
  mysql.read_timeout = std::max<std::chrono::milliseconds>(mysql.read_timeout, std::chrono::hours(2));
  earshot::storage::Database db(mysql);
  earshot::storage::Migrator migrator(db, std::move(migrations));
  if (status_only) {
    auto st = migrator.status();
    if (!st) {
      std::cerr << fmt::format("earshot migrate: {}\n", st.error().to_string());
      return 1;
    }
    int pending = 0;
    bool changed = false;
    for (const auto& m : *st) {
      changed = changed || m.changed;
      std::string state = "pending";
      if (m.applied) {
        state = fmt::format("applied {:%Y-%m-%d %H:%M:%S}", m.applied_at.value_or(earshot::storage::Timestamp{}));
        if (m.changed) state += " CHANGED SINCE APPLIED";
        if (m.file_missing) state += " (file missing)";
      } else {
        ++pending;
      }
      std::cout << fmt::format("{:04}  {:<40} {}\n", m.version, m.file_name, state);
    }
    std::cout << fmt::format("{} pending\n", pending);
    return changed ? 1 : 0;  // an edited applied file blocks every future migrate
  }
  auto applied = migrator.migrate();
  if (!applied) {
    std::cerr << fmt::format("earshot migrate: {}\n", applied.error().to_string());
    return 1;
  }
  if (applied->empty()) std::cout << "schema is up to date\n";
  for (int v : *applied) std::cout << fmt::format("applied {:04}\n", v);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Command> commands = {
      {"analyze-file", "measure, transcribe and report one recording, no services needed", earshot::cli::analyze_file},
      {"dlq", "list, show, replay or purge a business's dead letters", earshot::cli::dlq},
      {"demo-data", "synthesise demo calls and upload them through the upload API", earshot::cli::demo_data},
      {"ask", "ask the chat of a running gateway one question, as a user of a business", earshot::cli::ask},
      {"seed-demo", "register a demo business and send it synthetic calls", earshot::cli::seed_demo},
      {"admin", "create, list, disable or enable platform admins (password from a file or the environment)",
       earshot::cli::admin},
      {"business", "register a business; export all of its data; erase it (two-step confirmation)",
       earshot::cli::business},
      {"keys", "count sealed secrets per master key id; reseal them under the primary key (rotation)",
       earshot::cli::keys},
      {"sync", "run one sync pass of a business's source database, CRM and feeds now", earshot::cli::sync},
      {"version", "print version and commit",
       [](std::span<char*>) {
         std::cout << fmt::format("earshot {} (commit {})\n", earshot::build_version(), earshot::build_commit());
         return 0;
       }},
      {"migrate", "apply schema migrations (--status lists applied / pending)", run_migrate},
  };
  if (argc < 2) {
    print_usage(commands, std::cerr);
    return 2;
  }
  std::string_view first(argv[1]);
  if (first == "--help" || first == "-h" || first == "help") return print_usage(commands, std::cout);
  if (first == "--version") first = "version";
  for (const auto& c : commands) {
    if (c.name == first) return c.run(std::span<char*>(argv + 2, static_cast<std::size_t>(argc - 2)));
  }
  std::cerr << fmt::format("earshot: unknown command '{}' (see earshot --help)\n", first);
  return 2;
}

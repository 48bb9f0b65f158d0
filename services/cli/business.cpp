// `earshot business create --bid B --name N [--admin-email E --admin-password P]`: what
// POST /api/v1/admin/businesses does, from the command line (declares the business's
// queues, creates it with its default pipeline config and first admin, tells the workers).
#include "business.hpp"

#include <fmt/format.h>

#include <iostream>
#include <string>

#include "cli_env.hpp"
#include "earshot/api/business_admin.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/repository_set.hpp"
#include "earshot/storage/sql.hpp"
#include "tenant_data.hpp"

namespace earshot::cli {

int business(std::span<char*> args) {
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  queue::TopologySettings topology;
  crypto::MasterKeySettings master;
  mysql.declare(spec);
  amqp.declare(spec);
  topology.declare(spec);
  master.declare(spec);
  const std::string usage =
      "Usage: earshot business create --bid BID --name NAME [--admin-email E --admin-password P]\n"
      "       earshot business export --bid BID --out DIR\n"
      "       earshot business erase --bid BID [--confirm CODE]\n\n"
      "create registers a business: declares its queues, creates it with the default pipeline\n"
      "config (and a first admin user when asked), and tells running workers.\n"
      "The password may also come from EARSHOT_BUSINESS_ADMIN_PASSWORD.\n"
      "export writes every row of the business as JSON lines (DIR/<table>.jsonl; credentials\n"
      "and sealed secrets withheld), its recordings (DIR/recordings/<call id>.<ext>) and\n"
      "DIR/manifest.json; run it again after a failure and it resumes (finished files stay).\n"
      "erase without --confirm lists what the business holds and prints the confirmation code;\n"
      "with it, deletes its recordings, every row (the business too), its queues and its Redis\n"
      "keys, and prints what it removed. Running it again removes nothing more.\n"
      "export and erase also read EARSHOT_REDIS_*, EARSHOT_OBJECT_STORE* and EARSHOT_S3_*.\n";
  if (args.empty() || std::string_view(args[0]) == "--help" || std::string_view(args[0]) == "-h") {
    std::cout << usage << "\n" << spec.help_text();
    return args.empty() ? 2 : 0;
  }
  if (std::string_view(args[0]) == "export") return tenant_export(args.subspan(1));
  if (std::string_view(args[0]) == "erase") return tenant_erase(args.subspan(1));
  if (std::string_view(args[0]) != "create") {
    std::cerr << fmt::format("earshot business: unknown subcommand '{}'\n{}", args[0], usage);
    return 2;
  }
  api::NewBusiness nb;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return std::string(args[++i]);
    };
    const bool known = a == "--bid" || a == "--name" || a == "--admin-email" || a == "--admin-password";
    const std::optional<std::string> v = known ? value() : std::nullopt;
    if (v && a == "--bid") {
      nb.bid = *v;
    } else if (v && a == "--name") {
      nb.name = *v;
    } else if (v && a == "--admin-email") {
      nb.admin_email = *v;
    } else if (v && a == "--admin-password") {
      nb.admin_password = *v;
    } else {
      std::cerr << fmt::format("earshot business create: bad option '{}'\n{}", a, usage);
      return 2;
    }
  }
  if (nb.admin_email && !nb.admin_password) {
    // Keeps the password out of the process list when given through the environment.
    if (const char* p = std::getenv("EARSHOT_BUSINESS_ADMIN_PASSWORD")) nb.admin_password = p;
  }
  if (nb.bid.empty() || nb.name.empty()) {
    std::cerr << "earshot business create: --bid and --name are required\n" << usage;
    return 2;
  }
  if (auto st = spec.load(scoped_env({"MYSQL_", "AMQP_", "QUEUE_", "MASTER_KEY"})); !st) {
    std::cerr << fmt::format("earshot business: {}\n", st.error().message);
    return 2;
  }
  if (auto st = topology.resolve(); !st) {
    std::cerr << fmt::format("earshot business: {}\n", st.error().message);
    return 2;
  }
  auto keys = crypto::Keyring::from_settings(master);
  if (!keys) {
    std::cerr << fmt::format("earshot business: {}\n", keys.error().message);
    return 2;
  }
  mysql.pool_size = 2;
  storage::Database db(mysql);
  queue::Publisher publisher(amqp, {});
  publisher.start();
  api::AmqpQueueControl queues(amqp, topology, publisher);
  storage::MySqlRepositories repos(db, *keys);
  auto created = api::register_business(repos.repos(), queues, nb, SystemClock::instance());
  publisher.stop();
  if (!created) {
    std::cerr << fmt::format("earshot business create: {}\n", created.error().to_string());
    return created.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << fmt::format("registered business '{}' ({}){}\n", created->bid, created->name,
                           nb.admin_email ? fmt::format(" with admin {}", *nb.admin_email) : "");
  return 0;
}

}  // namespace earshot::cli

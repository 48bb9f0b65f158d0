// `earshot sync --bid B --once [--source db|crm|feed]`: one incremental pass of a business's
// sources (the same code the sync worker runs on its schedule), then a summary per source.
#include "sync.hpp"

#include <fmt/format.h>

#include <iostream>
#include <string>

#include "cli_env.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/mysql_run_locks.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/sync/sync.hpp"

namespace earshot::cli {

int sync(std::span<char*> args) {
  constexpr std::string_view kUsage =
      "Usage: earshot sync --bid BID --once [--source db|crm|feed]\n"
      "  Runs one pass of the business's configured sources now (all of them unless --source):\n"
      "  db    calls from the source database after the watermark -> transcribe.{bid}\n"
      "  crm   LeadSquared leads modified since the last pass -> crm_leads\n"
      "  feed  transcript feed rows after the stored offset -> analyze.{bid}\n"
      "Reads EARSHOT_MYSQL_*, EARSHOT_AMQP_*, EARSHOT_QUEUE_*, EARSHOT_MASTER_KEY* and EARSHOT_EGRESS_*\n"
      "from the environment. The business's destinations (source database, CRM, feeds) are\n"
      "reached under the same egress policy as the earshot-sync worker's.\n";
  std::string bid, source;
  bool once = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--bid" && i + 1 < args.size()) {
      bid = args[++i];
    } else if (a == "--source" && i + 1 < args.size()) {
      source = args[++i];
    } else if (a == "--once") {
      once = true;
    } else {
      std::cerr << fmt::format("earshot sync: unexpected argument '{}'\n{}", a, kUsage);
      return 2;
    }
  }
  if (!once) {
    std::cerr << "earshot sync: only --once is supported here (the earshot-sync worker runs the schedule)\n" << kUsage;
    return 2;
  }
  auto tenant = storage::TenantId::make(bid);
  if (!tenant) {
    std::cerr << "earshot sync: --bid must be 1-64 characters of [a-z0-9_-]\n";
    return 2;
  }
  if (!source.empty() && source != "db" && source != "crm" && source != "feed") {
    std::cerr << "earshot sync: --source must be db, crm or feed\n";
    return 2;
  }
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  queue::TopologySettings topology;
  crypto::MasterKeySettings master;
  http::EgressSettings egress;
  mysql.declare(spec);
  amqp.declare(spec);
  topology.declare(spec);
  master.declare(spec);
  egress.declare(spec);
  if (auto st = spec.load(scoped_env({"MYSQL_", "AMQP_", "QUEUE_", "MASTER_KEY", "EGRESS_"})); !st) {
    std::cerr << fmt::format("earshot sync: {}\n", st.error().message);
    return 2;
  }
  if (auto st = topology.resolve(); !st) {
    std::cerr << fmt::format("earshot sync: {}\n", st.error().message);
    return 2;
  }
  auto keys = crypto::Keyring::from_settings(master);
  if (!keys) {
    std::cerr << fmt::format("earshot sync: {}\n", keys.error().to_string());
    return 2;
  }
  // The operator runs this pass on the business's behalf: its destinations get the worker's
  // policy (the platform's own MariaDB and RabbitMQ are never one).
  std::vector<http::PlatformEndpoint> platform{{"mysql", mysql.host, static_cast<int>(mysql.port)}};
  if (auto ep = queue::parse_amqp_url(amqp.url)) platform.push_back({"amqp", ep->host, ep->port});
  auto policy = egress.build(platform);
  if (!policy) {
    std::cerr << fmt::format("earshot sync: {}\n", policy.error().message);
    return 2;
  }
  storage::Database db(mysql);
  storage::MySqlPipelineConfigRepository configs(db, *keys);
  storage::MySqlCallRepository calls(db);
  storage::MySqlHumanAgentRepository agents(db);
  storage::MySqlTranscriptRepository transcripts(db);
  storage::MySqlWatermarkRepository watermarks(db);
  storage::MySqlCrmLeadRepository leads(db);
  storage::MySqlRunLocks run_locks(db);
  queue::Publisher publisher(amqp, queue::PublisherOptions{});
  publisher.start();
  sync::TopologyDeclarer declarer(amqp, topology);
  http::CurlHttpClient http;
  http::TenantHttpClient tenant_http(http, *policy);
  Metrics metrics("earshot-cli", "", "");
  sync::SyncDeps deps{run_locks,    configs,   calls,    agents,   transcripts, watermarks,
                      leads,        publisher, declarer, topology, metrics,     SystemClock::instance(),
                      &tenant_http, {},        nullptr,  *policy};
  int rc = 0;
  auto print = [&](const Result<sync::SyncReport>& r, std::string_view what) {
    if (!r) {
      std::cerr << fmt::format("earshot sync: {}: {}\n", what, r.error().to_string());
      rc = 1;
      return;
    }
    if (!r->configured) {
      std::cout << fmt::format("{}: not configured ({})\n", r->source.empty() ? what : r->source, r->note);
      return;
    }
    if (r->blocked && r->source == "db") {
      std::cout << fmt::format("{}: {}\n", r->source, r->note);
      rc = 1;
      return;
    }
    std::cout << fmt::format(
        "{}: rows={} created={} updated={} published={} skipped={} rejected={} leads={} requests={} position={}{}{}\n",
        r->source, r->rows, r->created, r->updated, r->published, r->skipped, r->rejected, r->leads, r->requests,
        r->position.empty() ? "-" : r->position, r->note.empty() ? "" : "  ", r->note);
  };
  // Leads first, so a pass of the source database sees them.
  if (source.empty() || source == "crm") {
    sync::CrmSync crm(deps);
    print(crm.run_once(*tenant), "crm");
  }
  if (source.empty() || source == "db") {
    sync::SourceDbSync dbsync(deps);
    print(dbsync.run_once(*tenant), "db");
  }
  if (source.empty() || source == "feed") {
    sync::FeedSync feeds(deps);
    auto all = feeds.run_once(*tenant);
    if (!all) {
      print(std::unexpected(all.error()), "feed");
    } else if (all->empty()) {
      std::cout << "feed: no feeds configured\n";
    } else {
      for (const auto& r : *all) print(r, "feed");
    }
  }
  http.shutdown();
  publisher.stop();
  return rc;
}

}  // namespace earshot::cli

// `earshot dlq list | show | replay | purge --stage S --bid B [--limit N]`: operator tools
// over a business's dead-letter queue (queue::DeadLetterAdmin does the work).
#include "dlq.hpp"

#include <fmt/format.h>

#include <charconv>
#include <iostream>
#include <limits>
#include <string>

#include "cli_env.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/dead_letters.hpp"
#include "earshot/queue/topology.hpp"

namespace earshot::cli {

int dlq(std::span<char*> args) {
  constexpr std::string_view kUsage =
      "Usage: earshot dlq list|show|replay|purge --stage sync|transcribe|analyze|notify --bid BID [--limit N]\n"
      "  list    messages waiting in dlq.{stage}.{bid}\n"
      "  show    the first N (default 10) with their error code, reason, attempts and time\n"
      "  replay  move up to N (default all) back to {stage}.{bid} with attempts reset; the\n"
      "          original failure is kept in x-replayed-* headers\n"
      "  purge   delete every dead letter of the queue\n"
      "Reads EARSHOT_AMQP_* and EARSHOT_QUEUE_* from the environment.\n";
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string action = args[0];
  if (action == "--help" || action == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::string stage_name, bid;
  std::size_t limit = 0;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    if (a == "--stage" && i + 1 < args.size()) {
      stage_name = args[++i];
    } else if (a == "--bid" && i + 1 < args.size()) {
      bid = args[++i];
    } else if (a == "--limit" && i + 1 < args.size()) {
      const std::string_view v(args[++i]);
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
      if (ec != std::errc() || p != v.data() + v.size() || limit == 0) {
        std::cerr << "earshot dlq: --limit must be a positive integer\n";
        return 2;
      }
    } else {
      std::cerr << fmt::format("earshot dlq: unexpected argument '{}'\n{}", a, kUsage);
      return 2;
    }
  }
  const auto stage = queue::parse_stage(stage_name);
  if (!stage) {
    std::cerr << "earshot dlq: --stage must be sync, transcribe, analyze or notify\n";
    return 2;
  }
  if (!queue::is_valid_bid(bid)) {
    std::cerr << "earshot dlq: --bid must be 1-64 characters of [a-z0-9_-]\n";
    return 2;
  }
  if (action != "list" && action != "show" && action != "replay" && action != "purge") {
    std::cerr << kUsage;
    return 2;
  }
  ConfigSpec spec;
  queue::AmqpSettings amqp;
  queue::TopologySettings topology;
  amqp.declare(spec);
  topology.declare(spec);
  if (auto st = spec.load(scoped_env({"AMQP_", "QUEUE_"})); !st) {
    std::cerr << fmt::format("earshot dlq: {}\n", st.error().message);
    return 2;
  }
  if (auto st = topology.resolve(); !st) {
    std::cerr << fmt::format("earshot dlq: {}\n", st.error().message);
    return 2;
  }
  queue::DeadLetterAdmin admin(amqp, topology, SystemClock::instance());
  const std::string queue_name = queue::dead_letter_queue(*stage, bid);
  auto fail = [](const Error& e) {
    std::cerr << fmt::format("earshot dlq: {}\n", e.to_string());
    return 1;
  };
  if (action == "list") {
    auto n = admin.count(*stage, bid);
    if (!n) return fail(n.error());
    std::cout << fmt::format("{}: {} message(s)\n", queue_name, *n);
  } else if (action == "show") {
    auto letters = admin.show(*stage, bid, limit == 0 ? 10 : limit);
    if (!letters) return fail(letters.error());
    for (const auto& d : *letters) {
      std::cout << fmt::format("{}  {}  attempts={}  {}: {}\n  {}\n", d.message.message_id, d.failed_at, d.attempts,
                               d.error_code, d.error_reason, d.message.body);
    }
    std::cout << fmt::format("{} shown from {}\n", letters->size(), queue_name);
  } else if (action == "replay") {
    auto moved = admin.replay(*stage, bid, limit == 0 ? std::numeric_limits<std::size_t>::max() : limit);
    if (!moved) return fail(moved.error());
    std::cout << fmt::format("replayed {} message(s) from {} to {}\n", *moved, queue_name,
                             queue::work_queue(*stage, bid));
  } else {
    auto purged = admin.purge(*stage, bid);
    if (!purged) return fail(purged.error());
    std::cout << fmt::format("purged {} message(s) from {}\n", *purged, queue_name);
  }
  return 0;
}

}  // namespace earshot::cli

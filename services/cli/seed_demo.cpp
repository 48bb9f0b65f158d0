// `earshot seed-demo [--bid demo] [--calls N]`: registers the business (if new), declares
// its queues, tells running workers (control event), and sends it N synthetic stereo calls:
// scripted agent/customer dialogues spoken by flite, stored in the local object store,
// recorded as pending calls and published to transcribe.{bid}. Idempotent per external id:
// running it again re-sends the same calls (finished or failed ones are reset to pending).
#include "seed_demo.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "cli_env.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/config.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/control.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"
#include "synth.hpp"

namespace earshot::cli {
namespace {

// Four short conversations; the third has a long hold, the fourth an interruption.
const std::vector<std::vector<SpokenLine>> kScripts = {
    {{true, "Thank you for calling Acme support my name is Sarah how can I help you today", 400},
     {false, "Hi my internet has been very slow since last Monday", 700},
     {true, "I am sorry to hear that let me check the line for you", 600},
     {false, "Thank you that would be great", 500},
     {true, "I have reset your connection it should be fast again now", 1200}},
    {{true, "Good morning thank you for calling how can I help", 300},
     {false, "I want to cancel my subscription because the price went up", 900},
     {true, "I understand I can offer you a discount for the next six months", 800},
     {false, "Okay that sounds fair I will stay", 600}},
    {{true, "Thank you for calling billing this is Mark", 500},
     {false, "I was charged twice for my last order", 700},
     {true, "Please hold while I look into your account", 500},
     {true, "Thank you for holding I have refunded the second charge", 5000},
     {false, "Great thanks for your help", 600}},
    {{true, "Thank you for calling support how can I help you", 400},
     {false, "The blender I ordered arrived broken and I am very unhappy", 700},
     {true, "I am really sorry about that we will send you a replacement right away", 600},
     {false, "No I want a refund", -1500},
     {true, "Of course I will process a full refund today", 900}},
};

Result<std::vector<std::uint8_t>> synthesize(const std::vector<SpokenLine>& script, int rate) {
  auto wav = synthesize_stereo_call(script, "slt", "rms", rate);
  if (!wav) return std::unexpected(wav.error());
  return std::vector<std::uint8_t>(wav->begin(), wav->end());
}

}  // namespace

int seed_demo(std::span<char*> args) {
  std::string bid = "demo";
  int n_calls = 4;
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  queue::TopologySettings topology;
  crypto::MasterKeySettings master;
  std::string objects;
  mysql.declare(spec);
  amqp.declare(spec);
  topology.declare(spec);
  master.declare(spec);
  spec.add_string("object_store_dir", &objects, "./.local/objects", "Local object store directory.");
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    if (a == "--bid" && i + 1 < args.size()) {
      bid = args[++i];
    } else if (a == "--calls" && i + 1 < args.size()) {
      n_calls = std::atoi(args[++i]);
    } else if (a == "--help" || a == "-h") {
      std::cout << "Usage: earshot seed-demo [--bid BID] [--calls N]\n\n"
                   "Registers BID (default demo) if it is new and sends it N synthetic calls\n"
                   "(default 4) through transcribe.{bid}. Reads the fleet's configuration:\n"
                << spec.help_text();
      return 0;
    } else {
      std::cerr << fmt::format("earshot seed-demo: unknown option '{}'\n", a);
      return 2;
    }
  }
  if (n_calls < 1 || n_calls > 1000) {
    std::cerr << "earshot seed-demo: --calls must be 1..1000\n";
    return 2;
  }
  if (auto st = spec.load(scoped_env({"MYSQL_", "AMQP_", "QUEUE_", "MASTER_KEY", "OBJECT_STORE_DIR"})); !st) {
    std::cerr << fmt::format("earshot seed-demo: {}\n", st.error().message);
    return 2;
  }
  if (auto st = topology.resolve(); !st) {
    std::cerr << fmt::format("earshot seed-demo: {}\n", st.error().message);
    return 2;
  }
  auto tenant = storage::TenantId::make(bid);
  if (!tenant) {
    std::cerr << fmt::format("earshot seed-demo: {}\n", tenant.error().message);
    return 2;
  }
  auto keys = crypto::Keyring::from_settings(master);
  if (!keys) {
    std::cerr << fmt::format("earshot seed-demo: {}\n", keys.error().message);
    return 2;
  }
  auto fail = [](const Error& e) {
    std::cerr << fmt::format("earshot seed-demo: {}\n", e.to_string());
    return 1;
  };

  storage::Database db(mysql);
  storage::MySqlBusinessRepository businesses(db);
  storage::MySqlPipelineConfigRepository configs(db, *keys);
  storage::MySqlCallRepository calls(db);
  if (auto st = businesses.create(*tenant, "Demo call center"); !st && st.error().code != ErrorCode::kAlreadyExists) {
    return fail(st.error());
  }
  if (auto existing = configs.get(*tenant); !existing) {
    if (existing.error().code != ErrorCode::kNotFound) return fail(existing.error());
    storage::PipelineConfig config;
    config.stt_provider = "pocketsphinx";
    if (auto st = configs.put(*tenant, config); !st) return fail(st.error());
  }
  storage::MySqlAgentConfigRepository agents(db);
  if (auto seeded = pipeline::seed_default_agents(agents, *tenant); !seeded) return fail(seeded.error());

  // Categories and a scorecard, so the analyzers have rules to apply.
  storage::MySqlRuleSetRepository categories(db, storage::MySqlRuleSetRepository::Kind::kCategories);
  storage::MySqlRuleSetRepository scorecards(db, storage::MySqlRuleSetRepository::Kind::kScorecards);
  auto existing_categories = categories.list(*tenant);
  if (!existing_categories) return fail(existing_categories.error());
  if (existing_categories->empty()) {
    const std::vector<std::pair<std::string, std::string>> demo_categories = {
        {"Refund request",
         R"([{"type":"transcript","phrases":["refund","money back"],"match":"forms","speaker":"anyone"}])"},
        {"Cancellation risk", R"([{"type":"transcript","phrases":["cancel"],"match":"forms","speaker":"customer"}])"},
        {"Long hold", R"([{"type":"non_talk","min_ms":4000}])"},
        {"Angry customer", R"([{"type":"sentiment","speaker":"customer","value":"negative"}])"},
    };
    for (const auto& [name, rules] : demo_categories) {
      storage::RuleSet r;
      r.name = name;
      r.rules_json = rules;
      if (auto id = categories.create(*tenant, r); !id) return fail(id.error());
    }
    storage::RuleSet card;
    card.name = "Basic QA";
    card.rules_json = R"({"questions":[
      {"id":"greeting","text":"Agent thanked the caller in the first 10 s","weight":2,"answer":{"kind":"rule","rules":[
        {"type":"transcript","phrases":["thank you for calling"],"speaker":"agent","window":{"first_ms":10000}}]}},
      {"id":"talk_ratio","text":"Agent talked at most 65% of the time","weight":1,"answer":{"kind":"metric","metric":"agent_talk_ratio","op":"<=","value":0.65}},
      {"id":"no_long_hold","text":"No silence over 4 s","weight":1,"answer":{"kind":"rule","rules":[{"type":"non_talk","min_ms":4000,"negate":true}]}}]})";
    if (auto id = scorecards.create(*tenant, card); !id) return fail(id.error());
  }

  queue::TopologyAdmin admin(amqp, topology);
  if (auto st = admin.declare_exchanges(); !st) return fail(st.error());
  for (auto stage : queue::kAllStages) {
    if (auto st = admin.declare_business(stage, bid); !st) return fail(st.error());
  }
  queue::Publisher publisher(amqp, {});
  publisher.start();
  queue::BusinessEvent ev;
  ev.type = queue::BusinessEventType::kRegistered;
  ev.bid = bid;
  ev.at = std::chrono::system_clock::now();
  if (auto st = publisher.publish(queue::make_business_event_message(topology, ev)); !st) return fail(st.error());

  objectstore::LocalObjectStore store(objects);
  const int rate = 16000;
  std::vector<queue::OutgoingMessage> batch;
  for (int i = 0; i < n_calls; ++i) {
    const auto& script = kScripts[static_cast<std::size_t>(i) % kScripts.size()];
    auto bytes = synthesize(script, rate);
    if (!bytes) return fail(bytes.error());
    const std::string external = fmt::format("demo-{:04}", i + 1);
    auto uri = store.write(fmt::format("{}/{}.wav", bid, external), *bytes);
    if (!uri) return fail(uri.error());
    storage::CallInput in;
    in.external_id = external;
    in.audio_uri = *uri;
    in.channels = 2;
    in.language = "en";
    in.direction = storage::CallDirection::kInbound;
    in.customer_phone = fmt::format("+1555010{:04}", i + 1);
    in.city = i % 2 == 0 ? "Pune" : "Austin";
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() -
                                                                            std::chrono::minutes(10 * (n_calls - i)));
    in.duration_ms = static_cast<std::int64_t>((bytes->size() - 44) / 4) * 1000 / rate;
    auto up = calls.upsert(*tenant, in);
    if (!up) return fail(up.error());
    if (!up->created) {
      // Re-seeding: a call that failed (or finished) goes through the pipeline again.
      if (auto again = calls.reprocess(*tenant, up->id); !again) return fail(again.error());
    }
    auto request = queue::TranscribeRequest::for_call(bid, up->id, *uri, in.channels, in.language);
    request.audio.sample_rate = rate;
    batch.push_back(queue::make_stage_message(topology, request));
  }
  if (auto st = publisher.publish_batch(std::move(batch)); !st) return fail(st.error());
  publisher.stop();
  std::cout << fmt::format("seeded {} call(s) for business '{}' into transcribe.{}\n", n_calls, bid, bid);
  return 0;
}

}  // namespace earshot::cli

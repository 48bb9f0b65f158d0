// chat_bench: the search and chat routes end to end, through the gateway as the binary wires
// it (api::ApiServer::make: JWT auth, policies, the business's search shards loaded from
// MariaDB, the retriever, the LLM provider chain through the egress policy, Redis rate
// limits and token budget), in this process on a free port, against the local services.
//
// Data: database `earshot_chat_bench` (dropped and re-created each run), one business with
// --calls analyzed calls, each with a transcript of --lines utterances, its chunks and its
// whole-call vector embedded by the business's default embedder (hashed bag of words, 256-d),
// as the analyze stage stores them. The business's LLM chain is one Ollama model served by a
// fake Ollama on loopback that answers at once (zero latency, the real NDJSON wire format),
// so a chat's latency is the chat's own overhead: the session, retrieval, the prompt, the
// provider round trip on loopback, storing the turn, the JSON reply.
//
// Measured (closed loop, `--clients` keep-alive clients, each question once per client):
//   search        POST /api/v1/search (hybrid, k 10)
//   chat          POST /api/v1/chat, answered by the LLM (zero-latency fake)
//   chat-offline  POST /api/v1/chat of a business without an LLM (the extractive answer)
// and prints p50/p99/max latency and requests/s for each, plus the first use of the business's
// shard (its load from MariaDB).
//
// Usage: chat_bench [--calls 2000] [--lines 12] [--requests 400] [--clients 1,2] [--http-threads 8]
// Connection settings come from EARSHOT_MYSQL_*, EARSHOT_AMQP_URL and EARSHOT_REDIS_URL
// (`eval "$(scripts/services.sh --instance test env)"`).
#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "analysed_call.hpp"
#include "common/bench_common.hpp"
#include "earshot/api/api_server.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/log.hpp"
#include "earshot/core/service.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/llm/fake_llm.hpp"

namespace {

using namespace earshot;
using nlohmann::json;
using Steady = std::chrono::steady_clock;

constexpr const char* kDatabase = "earshot_chat_bench";
constexpr const char* kPassword = "chat bench password";

using earshot::bench::need;

// What callers talk about: each call mixes a few of these with filler, so questions about one
// topic have a few dozen to a few hundred calls that answer them.
const std::vector<std::string>& topics() {
  static const std::vector<std::string> t{
      "my refund never arrived after I returned the order",
      "I was charged twice for the same month",
      "the technician never showed up for the appointment",
      "I have been on hold for forty five minutes",
      "I want to cancel my subscription and switch providers",
      "the internet drops every evening around eight",
      "my bill doubled and nobody told me why",
      "the delivery was left at the wrong address",
      "can you upgrade my plan to the premium tier",
      "I need to update the card on my account",
      "the app keeps logging me out",
      "your agent promised a callback that never came",
      "the router lights are blinking orange",
      "I would like a discount for the outage last week",
      "please send me a copy of my contract",
      "the package arrived damaged and the box was open",
  };
  return t;
}
const std::vector<std::string>& fillers() {
  static const std::vector<std::string> f{
      "thank you for calling how can I help you today",
      "let me pull up your account one moment please",
      "can you confirm the name on the account",
      "I understand that must be frustrating",
      "is there anything else I can help you with",
      "okay I see that here",
      "let me check that for you",
      "sure no problem at all",
  };
  return f;
}

struct Timing {
  double p50 = 0, p99 = 0, max = 0, per_second = 0;
  std::size_t errors = 0;
};

// `clients` keep-alive clients send `requests` POSTs of `bodies` (round robin) to `path`.
Timing drive(int port, const std::string& path, const std::string& token, const std::vector<json>& bodies,
             std::size_t requests, std::size_t clients) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> errors{0};
  std::vector<std::vector<double>> lat(clients);
  const auto t0 = Steady::now();
  {
    std::vector<std::jthread> pool;
    pool.reserve(clients);
    for (std::size_t c = 0; c < clients; ++c) {
      pool.emplace_back([&, c] {
        httplib::Client cli("127.0.0.1", port);
        cli.set_keep_alive(true);
        cli.set_tcp_nodelay(true);  // headers and body go in two writes: no Nagle wait between
        cli.set_read_timeout(60, 0);
        const httplib::Headers h{{"Authorization", "Bearer " + token}};
        for (std::size_t i = next++; i < requests; i = next++) {
          const std::string body = bodies[i % bodies.size()].dump();
          const auto start = Steady::now();
          auto res = cli.Post(path, h, body, "application/json");
          lat[c].push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
          if (!res || res->status != 200) {
            if (errors++ == 0) {
              std::cerr << fmt::format("chat_bench: {} answered {}: {}\n", path, res ? res->status : 0,
                                       res ? res->body.substr(0, 300) : httplib::to_string(res.error()));
            }
          }
        }
      });
    }
  }
  const double wall = std::chrono::duration<double>(Steady::now() - t0).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Timing t;
  t.errors = errors.load();
  if (all.empty()) return t;
  const auto at = [&](double q) {
    return all[std::min(all.size() - 1, static_cast<std::size_t>(q * static_cast<double>(all.size())))];
  };
  t.p50 = at(0.50);
  t.p99 = at(0.99);
  t.max = all.back();
  t.per_second = static_cast<double>(all.size()) / wall;
  return t;
}

// One analyzed call with its transcript and embeddings, as the analyze stage leaves it.
void seed_call(storage::Database& db, const storage::TenantId& t, llm::HashedBowEmbedder& embedder,
               std::mt19937_64& rng, int index, int lines) {
  testing::AnalysedCallSeed seed;
  seed.external_id = fmt::format("bench-{}", index);
  seed.issue_category = "support";
  seed.started_at = storage::Timestamp(std::chrono::milliseconds(1'790'000'000'000LL + index * 60'000LL));
  seed.transcript = true;
  for (int l = 0; l < lines; ++l) {
    const bool agent = l % 2 == 0;
    const auto& pool = agent || rng() % 3 == 0 ? fillers() : topics();
    seed.lines.push_back({agent ? analytics::Role::kAgent : analytics::Role::kCustomer, pool[rng() % pool.size()]});
  }
  (void)need(testing::seed_analysed_call(db, t, seed, embedder), "call");
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 2000;
  int lines = 12;
  std::size_t requests = 400;
  std::vector<std::size_t> clients{1, 2};
  std::int64_t http_threads = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--calls" && has)
      calls = std::atoi(argv[++i]);
    else if (a == "--lines" && has)
      lines = std::atoi(argv[++i]);
    else if (a == "--requests" && has)
      requests = static_cast<std::size_t>(std::atoll(argv[++i]));
    else if (a == "--clients" && has)
      clients = earshot::bench::split_numbers(argv[++i]);
    else if (a == "--http-threads" && has)
      http_threads = std::atoll(argv[++i]);
    else {
      std::cerr << "usage: chat_bench [--calls 2000] [--lines 12] [--requests 400] [--clients 1,2]"
                   " [--http-threads 8]\n";
      return 2;
    }
  }
  if (calls < 1 || lines < 2 || requests < 1 || clients.empty() || http_threads < 1) {
    std::cerr << "chat_bench: numbers must be positive (--lines at least 2)\n";
    return 2;
  }
  log::init("chat-bench", "warn");

  testing::FakeOllama ollama;
  if (!ollama.start()) {
    std::cerr << "chat_bench: the fake Ollama did not start\n";
    return 1;
  }
  ollama.set_reply("Two customers asked about refunds [1] and one was charged twice [2].");

  // The gateway's settings as the binary loads them (defaults for everything not named).
  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_") || k == "EARSHOT_AMQP_URL" || k == "EARSHOT_REDIS_URL") env[k] = v;
  }
  env["EARSHOT_MYSQL_DATABASE"] = kDatabase;
  env["EARSHOT_MYSQL_POOL_SIZE"] = std::to_string(http_threads + 4);
  env["EARSHOT_JWT_SECRET"] = std::string(48, 'c');
  env["EARSHOT_HTTP_HOST"] = "127.0.0.1";
  env["EARSHOT_HTTP_PORT"] = "0";
  env["EARSHOT_HTTP_THREADS"] = std::to_string(http_threads);
  env["EARSHOT_RATE_LIMIT_ENABLED"] = "false";
  env["EARSHOT_CHAT_REQUESTS_PER_MINUTE"] = "1000000";
  env["EARSHOT_CHAT_TOKENS_PER_DAY"] = "1000000000";
  env["EARSHOT_OLLAMA_URL"] = ollama.base_url();
  env["EARSHOT_OBJECT_STORE_DIR"] = (std::filesystem::temp_directory_path() / "earshot-chat-bench-objects").string();
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  queue::TopologySettings topology;
  cache::RedisSettings redis;
  api::ApiSettings api_settings;
  api::GatewaySettings gateway;
  RuntimeSettings runtime_settings;
  mysql.declare(spec);
  amqp.declare(spec);
  topology.declare(spec);
  redis.declare(spec);
  api_settings.declare(spec);
  gateway.declare(spec);
  runtime_settings.declare(spec, 0);
  need(spec.load(env), "config");
  need(topology.resolve(), "topology");
  runtime_settings.admin_host = "127.0.0.1";

  {
    storage::MySqlSettings admin = mysql;
    admin.database.clear();
    storage::Database server(admin);
    need(server.execute(fmt::format("DROP DATABASE IF EXISTS {}", kDatabase)), "drop database");
    need(server.execute(fmt::format("CREATE DATABASE {} CHARACTER SET utf8mb4", kDatabase)), "create database");
  }
  storage::Database db(mysql);
  need(storage::Migrator(db, storage::embedded_migrations()).migrate(), "migrate");
  const auto keys = need(crypto::Keyring::parse("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "k1"), "keys");

  // Two businesses with the same calls: one with the LLM, one without (the extractive answer).
  llm::HashedBowEmbedder embedder(256);  // the businesses' default embedder
  std::vector<std::pair<storage::TenantId, std::string>> businesses;
  const auto seed_start = Steady::now();
  for (const char* bid : {"chat-llm", "chat-offline"}) {
    const auto t = *storage::TenantId::make(bid);
    need(storage::MySqlBusinessRepository(db).create(t, bid), "business");
    storage::User admin;
    admin.email = fmt::format("admin@{}.test", bid);
    admin.role = storage::UserRole::kAdmin;
    admin.password_hash = need(crypto::hash_password(kPassword), "hash");
    (void)need(storage::MySqlUserRepository(db).create(t, admin), "user");
    std::mt19937_64 rng(7);  // the same calls in both
    for (int c = 0; c < calls; ++c) seed_call(db, t, embedder, rng, c, lines);
    businesses.emplace_back(t, admin.email);
  }
  std::cout << std::unitbuf
            << fmt::format("seeded 2 businesses x {} calls ({} utterances each) in {:.1f} s\n", calls, lines,
                           std::chrono::duration<double>(Steady::now() - seed_start).count());

  Runtime runtime("chat-bench", runtime_settings, SystemClock::instance());
  api::GatewayDependencies deps{mysql, amqp, topology, redis, &keys};
  auto server = need(api::ApiServer::make(api_settings, gateway, deps, runtime), "gateway");
  api::ApiServer* gw = server.get();
  runtime.add_component(std::move(server));
  need(runtime.start(), "start");
  const int port = gw->bound_port();

  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(120, 0);
  std::vector<std::string> tokens;
  for (const auto& [t, email] : businesses) {
    auto res = cli.Post("/api/v1/auth/login", json{{"email", email}, {"password", kPassword}, {"bid", t.bid()}}.dump(),
                        "application/json");
    const auto body = json::parse(res ? res->body : std::string(), nullptr, false);
    if (!res || res->status != 200 || !body.contains("access_token")) {
      std::cerr << fmt::format("chat_bench: login failed: {}\n", res ? res->body : httplib::to_string(res.error()));
      return 1;
    }
    tokens.push_back(body["access_token"]);
  }
  // The LLM business answers with Ollama (the operator's default URL: the fake).
  {
    auto res = cli.Put(fmt::format("/api/v1/admin/businesses/{}/pipeline-config", businesses[0].first.bid()),
                       {{"Authorization", "Bearer " + tokens[0]}},
                       json{{"llm_chain", json::array({{{"provider", "ollama"}, {"model", "bench-model"}}})}}.dump(),
                       "application/json");
    if (!res || res->status != 200) {
      std::cerr << fmt::format("chat_bench: pipeline config: {}\n", res ? res->body : httplib::to_string(res.error()));
      return 1;
    }
  }

  std::vector<json> searches;
  std::vector<json> questions;
  for (const auto& topic : topics()) {
    searches.push_back({{"query", topic}, {"k", 10}});
    questions.push_back({{"question", "Which customers said: " + topic + "?"}});
  }
  {
    const Timing first = drive(port, "/api/v1/search", tokens[0], {searches[0]}, 1, 1);
    const Timing second = drive(port, "/api/v1/search", tokens[1], {searches[0]}, 1, 1);
    std::cout << fmt::format("first search of each business (its shard loaded from MariaDB): {:.0f} ms, {:.0f} ms\n",
                             first.max, second.max);
  }
  // Each question once before measuring (prompt-independent work such as connection pools).
  (void)drive(port, "/api/v1/chat", tokens[0], questions, questions.size(), 1);
  (void)drive(port, "/api/v1/chat", tokens[1], questions, questions.size(), 1);

  std::cout << fmt::format("{} requests per run; gateway {} listener threads; zero-latency fake Ollama\n", requests,
                           http_threads);
  {
    // The fake's own answer time, straight from a client (what the chat's figures include for
    // the LLM itself): a streamed answer as the chat asks for it.
    const auto colon = ollama.base_url().rfind(':');
    const int ollama_port = std::atoi(ollama.base_url().substr(colon + 1).c_str());
    const json body{{"model", "bench-model"},
                    {"stream", true},
                    {"messages", json::array({{{"role", "user"}, {"content", "Which customers asked for refunds?"}}})}};
    const Timing t = drive(ollama_port, "/api/chat", "", {body}, 100, 1);
    std::cout << fmt::format("{:<28} clients 1: p50 {:6.2f} ms  p99 {:6.2f} ms  max {:6.2f} ms  {:6.0f}/s\n",
                             "fake Ollama alone (stream)", t.p50, t.p99, t.max, t.per_second);
  }
  struct Run {
    const char* name;
    const char* path;
    std::size_t business;
    const std::vector<json>* bodies;
  };
  for (const Run& r : {Run{"search (hybrid, k 10)", "/api/v1/search", 0, &searches},
                       Run{"chat (LLM answers)", "/api/v1/chat", 0, &questions},
                       Run{"chat (offline, extractive)", "/api/v1/chat", 1, &questions}}) {
    for (const std::size_t c : clients) {
      const int chats_before = ollama.chat_count();
      const Timing t = drive(port, r.path, tokens[r.business], *r.bodies, requests, c);
      const int llm_calls = ollama.chat_count() - chats_before;
      std::cout << fmt::format("{:<28} clients {}: p50 {:6.2f} ms  p99 {:6.2f} ms  max {:6.2f} ms  {:6.0f}/s{}{}\n",
                               r.name, c, t.p50, t.p99, t.max, t.per_second,
                               llm_calls > 0 ? fmt::format("  (LLM requests {})", llm_calls) : std::string(),
                               t.errors > 0 ? fmt::format("  ERRORS {}", t.errors) : std::string());
    }
  }
  runtime.request_shutdown();
  (void)runtime.wait_and_shutdown();
  return 0;
}

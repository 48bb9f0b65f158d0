// The chaos suite: the five real binaries against the real MariaDB, RabbitMQ and Redis of the
// `chaos` services instance, 200 calls from three businesses (two in three uploaded as stereo
// WAV recordings transcribed through a fake Deepgram, the rest pushed as transcripts), each
// business's webhooks subscribed to its own local receiver that de-duplicates by event id.
// Meanwhile a driver, at seeded random times, SIGKILLs every binary several times (each is
// started again at once) and restarts RabbitMQ, MariaDB and Redis once each; the ingest
// client retries every refused or unanswered request with the same external id.
//
// Then, per business, against the database: every call `notified`, once; one transcript and
// one metrics row per call; one latest analysis per call and agent; escalations and category
// matches once; the human agents' aggregates count each call once; one webhook event
// accepted per event id and none missing; the dead-letter queues empty; and every binary
// answered /readyz 200 within 10 s of each dependency's return. Any count that is off names
// the calls. EARSHOT_CHAOS_SEED=N replays a run's fault schedule (the seed is printed first);
// EARSHOT_CHAOS_CALLS, _KILLS and _SECONDS scale it (scripts/chaos.sh runs the long form).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "earshot/audio/wav_writer.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "fleet.hpp"
#include "gateway_client.hpp"
#include "process.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"
#include "webhook_receiver.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kPassword = "correct horse battery";

std::int64_t env_int(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::stoll(v);
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// A short stereo 8 kHz recording: the agent (left) and the customer (right) take turns of
// noise bursts shaped like speech, with a pause between turns. `variant` changes the turns.
std::string stereo_wav(int variant) {
  constexpr int kRate = 8000;
  std::mt19937 rng(static_cast<unsigned>(1000 + variant));
  std::normal_distribution<float> noise(0.0f, 0.15f);
  audio::AudioBuffer buffer;
  buffer.sample_rate = kRate;
  buffer.channels.assign(2, {});
  const int turns = 4 + variant % 3;
  for (int t = 0; t < turns; ++t) {
    const int speaker = t % 2;
    const int talk = kRate * (1 + (variant + t) % 2);
    for (int i = 0; i < talk + kRate / 2; ++i) {
      const bool voiced = i < talk && (i / 800) % 4 != 3;  // syllable-like gaps
      const float env = voiced ? 0.8f * static_cast<float>(std::abs(std::sin(i * 3.1416 / 1600.0))) : 0.0f;
      const float s = std::clamp(noise(rng) * env, -1.0f, 1.0f) * (32000.0f / 32768.0f);
      buffer.channels[0].push_back(speaker == 0 ? s : 0.0f);
      buffer.channels[1].push_back(speaker == 1 ? s : 0.0f);
    }
  }
  return audio::encode_wav_pcm16(buffer);
}

// Transcript scripts of pushed calls: billing, a complaint asking for a supervisor (an
// escalation and the "escalation risk" category), a sales question.
json transcript_segments(int variant) {
  auto seg = [](const char* speaker, int start_s, int end_s, const char* text) {
    return json{{"speaker", speaker}, {"start_ms", start_s * 1000}, {"end_ms", end_s * 1000}, {"text", text}};
  };
  switch (variant % 3) {
    case 0:
      return json::array({seg("agent", 0, 4, "Thank you for calling, my name is Sam, how can I help you today?"),
                          seg("customer", 5, 10, "I was charged twice on my last invoice and I want a refund."),
                          seg("agent", 11, 16, "I am sorry about that, I have refunded the second charge now."),
                          seg("customer", 17, 20, "Great, thank you so much for the help.")});
    case 1:
      return json::array(
          {seg("agent", 0, 4, "Thank you for calling, how can I help you?"),
           seg("customer", 5, 11, "My order is late again and this is ridiculous, it is the third time I call."),
           seg("agent", 12, 16, "I understand, let me check the order for you."),
           seg("customer", 17, 22, "No, this is not acceptable. Can I speak to a supervisor right now?"),
           seg("customer", 23, 26, "I am very unhappy and angry with this terrible service.")});
    default:
      return json::array({seg("agent", 0, 4, "Good morning, thanks for calling, how may I help?"),
                          seg("customer", 5, 10, "I would like a quote to upgrade my plan to the annual one."),
                          seg("agent", 11, 16, "Sure, the annual plan comes with a discount, I will send the price."),
                          seg("customer", 17, 19, "Perfect, thank you.")});
  }
}

json categories() {
  auto said = [](const char* speaker, std::initializer_list<const char*> phrases) {
    return json{{"type", "transcript"}, {"speaker", speaker}, {"match", "forms"}, {"phrases", phrases}};
  };
  return json::array(
      {{{"name", "billing"}, {"rules", {said("anyone", {"charge", "charged", "invoice", "refund", "bill"})}}},
       {{"name", "sales"}, {"rules", {said("anyone", {"upgrade", "plan", "discount", "quote", "price", "annual"})}}},
       {{"name", "complaint"}, {"rules", {said("customer", {"late", "ridiculous", "not acceptable", "unhappy"})}}},
       {{"name", "escalation risk"}, {"rules", {said("customer", {"supervisor", "manager", "not acceptable"})}}}});
}

using Reply = GatewayReply;
using Api = GatewayClient;

struct Business {
  std::string bid;
  std::string token;
  std::string api_key;
  std::unique_ptr<WebhookReceiver> receiver;
  std::int64_t subscription_id = 0;
};

struct IngestedCall {
  std::string bid;
  std::string external_id;
  std::int64_t id = 0;
  bool audio = false;
  int attempts = 0;  // requests sent (retries reuse the external id)
};

struct Fault {
  double at_s = 0;     // planned offset from the start of the run
  std::string kind;    // "kill" or "restart"
  std::string target;  // binary or server
  // Measured:
  Clock::time_point began{};
  Clock::time_point recovered{};  // process ready again / server back
  double down_s = 0;
  std::map<std::string, double> ready_after_s;  // binary -> /readyz 200 after the server's return
  bool done = false;
  std::string note;
};

// The services instance the suite runs against must be `chaos`: it stops and starts its servers.
std::string services_instance() {
  const char* dir = std::getenv("ES_SERVICES_DIR");
  if (dir == nullptr) return "";
  return std::filesystem::path(dir).filename().string();
}

class ChaosSuite : public ::testing::Test {
 protected:
  // A query that survives the MariaDB restart: retried for up to 60 s.
  static storage::ExecResult query(const std::string& sql, std::initializer_list<storage::Value> params) {
    Result<storage::ExecResult> r = make_error(ErrorCode::kUnavailable, "not run");
    const auto end = Clock::now() + 60s;
    while (true) {
      r = StorageEnvironment::db().execute(sql, params);
      if (r || Clock::now() > end) break;
      std::this_thread::sleep_for(500ms);
    }
    EXPECT_TRUE(r) << sql << ": " << r.error().to_string();
    return r ? std::move(*r) : storage::ExecResult{};
  }
  static std::int64_t scalar(const std::string& sql, std::initializer_list<storage::Value> params) {
    auto r = query(sql, params);
    return r.rows.empty() || r.rows[0][0].is_null() ? 0 : r.rows[0][0].as_int();
  }
};

TEST_F(ChaosSuite, NothingIsLostOrDoneTwiceThroughKillsAndServerRestarts) {
  const auto ep = endpoints();
  ASSERT_EQ(services_instance(), "chaos")
      << "the chaos suite restarts its servers: run it against the chaos instance "
         "(scripts/services.sh --instance chaos start; eval \"$(scripts/services.sh --instance chaos env)\")";
  const std::uint64_t seed = static_cast<std::uint64_t>(
      env_int("EARSHOT_CHAOS_SEED", static_cast<std::int64_t>(std::random_device{}() % 1000000)));
  const int total_calls = static_cast<int>(env_int("EARSHOT_CHAOS_CALLS", 200));
  const int kills_per_binary = static_cast<int>(env_int("EARSHOT_CHAOS_KILLS", 2));
  const double fault_window_s = static_cast<double>(env_int("EARSHOT_CHAOS_SECONDS", 70));
  const int server_rounds = static_cast<int>(env_int("EARSHOT_CHAOS_SERVER_ROUNDS", 1));
  fmt::print(
      "chaos: seed {} (EARSHOT_CHAOS_SEED={} replays this schedule); {} calls, {} kills per binary, "
      "{} round(s) of server restarts over {:.0f} s\n",
      seed, seed, total_calls, kills_per_binary, server_rounds, fault_window_s);
  std::fflush(stdout);
  std::mt19937_64 rng(seed);

  // --- the outside world: a fake Deepgram and one webhook receiver per business ---
  FakeDeepgram deepgram;
  ASSERT_TRUE(deepgram.start());
  deepgram.set_latency(50ms);
  std::vector<Business> businesses(3);
  std::string allow = fmt::format("127.0.0.1:{}", deepgram.port());
  for (auto& b : businesses) {
    b.bid = "chaos" + std::to_string(&b - businesses.data()) + "-" + unique_suffix().substr(0, 6);
    b.receiver = std::make_unique<WebhookReceiver>("whsec-" + b.bid + "-0123456789abcdef");
    ASSERT_TRUE(b.receiver->start());
    allow += fmt::format(",127.0.0.1:{}", b.receiver->port());
  }

  // --- the fleet ---
  const std::string objects = ::testing::TempDir() + "earshot-chaos-objects-" + unique_suffix();
  std::filesystem::create_directories(objects);
  FleetOptions fo;
  fo.env = fleet_child_env();
  fo.env["EARSHOT_DEPENDENCY_CHECK_INTERVAL"] = "200ms";
  fo.env["EARSHOT_SHUTDOWN_GRACE"] = "2s";
  fo.env["EARSHOT_EGRESS_ALLOW"] = allow;
  fo.env["EARSHOT_LOG_LEVEL"] = "info";
  // Retries that outlast a server restart (about 55 s of retrying before a dead letter): a
  // worker keeps consuming while its database is down, and every message it takes then
  // fails `unavailable` and spends an attempt (1 s tiers and 5 attempts dead-lettered a
  // hundred messages over a 5 s MariaDB restart).
  for (const char* w : {"sync", "stt", "analyze", "notify"}) {
    fo.env_by_binary[w]["EARSHOT_QUEUE_RETRY_DELAYS"] = "1s,3s,10s";
    fo.env_by_binary[w]["EARSHOT_QUEUE_MAX_ATTEMPTS"] = "8";
  }
  fo.env_by_binary["gateway"] = {{"EARSHOT_JWT_SECRET", std::string(40, 'c') + unique_suffix()},
                                 {"EARSHOT_RATE_LIMIT_ENABLED", "false"},
                                 {"EARSHOT_OBJECT_STORE_DIR", objects}};
  fo.env_by_binary["stt"]["EARSHOT_OBJECT_STORE_DIR"] = objects;
  fo.env_by_binary["sync"]["EARSHOT_OBJECT_STORE_DIR"] = objects;
  fo.env_by_binary["analyze"]["EARSHOT_SENTIMENT_LEXICON"] =
      std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
  fo.env_by_binary["notify"] = {{"EARSHOT_NOTIFY_LEASE", "10s"},           {"EARSHOT_NOTIFY_POLL_INTERVAL", "100ms"},
                                {"EARSHOT_NOTIFY_REQUEST_TIMEOUT", "5s"},  {"EARSHOT_NOTIFY_RETRY_INITIAL", "1s"},
                                {"EARSHOT_NOTIFY_RETRY_MAX_DELAY", "10s"}, {"EARSHOT_QUEUE_RETRY_DELAYS", "1s,3s,10s"},
                                {"EARSHOT_QUEUE_MAX_ATTEMPTS", "8"}};
  Fleet fleet(fo);
  ASSERT_TRUE(fleet.start()) << fleet.error();
  const Api api(fleet.api_port());

  // --- three businesses: speech provider, categories, webhooks, an ingest key ---
  storage::MySqlUserRepository users(StorageEnvironment::db());
  const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
  ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
  auto login = [&](const std::string& email, const std::string& bid) {
    json body{{"email", email}, {"password", kPassword}};
    if (!bid.empty()) body["bid"] = bid;
    auto r = api.call("POST", "/api/v1/auth/login", "", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.j.is_object() ? r.j.value("access_token", "") : std::string();
  };
  const std::string platform = login(root, "");
  const std::vector<std::string> events = {"call.analyzed", "escalation.created", "category.matched"};
  for (auto& b : businesses) {
    const std::string admin_email = "admin@" + b.bid + ".test";
    auto r = api.call(
        "POST", "/api/v1/admin/businesses", platform,
        {{"bid", b.bid}, {"name", "Chaos " + b.bid}, {"admin_email", admin_email}, {"admin_password", kPassword}});
    ASSERT_EQ(r.status, 201) << r.body;
    b.token = login(admin_email, b.bid);
    const std::string base = "/api/v1/admin/businesses/" + b.bid;
    r = api.call("PUT", base + "/pipeline-config", b.token,
                 {{"stt_provider", "deepgram"},
                  {"stt_options", {{"base_url", deepgram.base_url()}, {"timeout_ms", 10000}}},
                  {"secrets", {{"stt_api_key", deepgram.api_key()}}}});
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& c : categories()) {
      r = api.call("POST", base + "/categories", b.token,
                   {{"name", c["name"]}, {"rules", c["rules"]}, {"enabled", true}});
      ASSERT_EQ(r.status, 201) << r.body;
    }
    r = api.call("POST", "/api/v1/webhooks", b.token,
                 {{"url", b.receiver->url()}, {"events", events}, {"secret", "whsec-" + b.bid + "-0123456789abcdef"}});
    ASSERT_EQ(r.status, 201) << r.body;
    b.subscription_id = r.j.value("id", std::int64_t{0});
    r = api.call("POST", base + "/api-keys", b.token, {{"name", "chaos ingest"}, {"scopes", {"ingest", "read"}}});
    ASSERT_EQ(r.status, 201) << r.body;
    b.api_key = r.j.value("secret", "");
  }
  std::vector<std::string> wavs;
  wavs.reserve(4);
  for (int v = 0; v < 4; ++v) wavs.push_back(stereo_wav(v));

  // --- the fault schedule: kills of every binary, one restart of each server per round ---
  std::vector<Fault> plan;
  // Within the ingest (the first 80 % of the window), so every fault meets calls in flight
  // and its cost (the wait for the next notified call) means something.
  std::uniform_real_distribution<double> when(3.0, fault_window_s * 0.8);
  auto fault = [&](const char* kind, const std::string& target) {
    Fault f;
    f.at_s = when(rng);
    f.kind = kind;
    f.target = target;
    return f;
  };
  for (const auto& binary : fleet.binaries()) {
    for (int k = 0; k < kills_per_binary; ++k) plan.push_back(fault("kill", binary));
  }
  for (int round = 0; round < server_rounds; ++round) {
    for (const char* server : {"rabbitmq", "mariadb", "redis"}) plan.push_back(fault("restart", server));
  }
  std::sort(plan.begin(), plan.end(), [](const Fault& a, const Fault& b) { return a.at_s < b.at_s; });
  std::uniform_int_distribution<int> down_ms(0, 1500);
  std::vector<int> downs;
  downs.reserve(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) downs.push_back(down_ms(rng));

  const auto t0 = Clock::now();
  std::mutex log_mu;
  auto say = [&](const std::string& line) {
    std::lock_guard lock(log_mu);
    fmt::print("chaos: t={:6.1f}s {}\n", seconds_between(t0, Clock::now()), line);
    std::fflush(stdout);
  };

  // --- the driver: faults in order, one at a time ---
  std::thread driver([&] {
    for (std::size_t i = 0; i < plan.size(); ++i) {
      auto& f = plan[i];
      const auto due = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(f.at_s));
      std::this_thread::sleep_until(due);
      f.began = Clock::now();
      if (f.kind == "kill") {
        fleet.kill(f.target);
        say(fmt::format("SIGKILL earshot-{} (planned at {:.1f}s)", f.target, f.at_s));
        std::this_thread::sleep_for(std::chrono::milliseconds(downs[i]));
        if (!fleet.restart(f.target)) f.note = "could not be started again";
        const bool up = fleet.wait_ready(f.target, 0, 60s);
        f.recovered = Clock::now();
        f.down_s = seconds_between(f.began, f.recovered);
        if (!up) f.note = "not ready 60 s after its restart";
        say(fmt::format("earshot-{} ready again {:.1f}s after the kill{}", f.target, f.down_s,
                        f.note.empty() ? "" : " (" + f.note + ")"));
      } else {
        say(fmt::format("stop {} (planned at {:.1f}s)", f.target, f.at_s));
        auto stopped = run_command(fmt::format("bash {} --instance chaos stop-one {}", ep.services_script, f.target));
        if (stopped.exit_code != 0) f.note = "stop failed: " + stopped.output;
        std::this_thread::sleep_for(std::chrono::milliseconds(1000 + downs[i]));
        auto started = run_command(fmt::format("bash {} --instance chaos start-one {}", ep.services_script, f.target));
        f.recovered = Clock::now();
        f.down_s = seconds_between(f.began, f.recovered);
        if (started.exit_code != 0) f.note += "start failed: " + started.output;
        // Every binary answers /readyz 200 within 10 s of the server's return.
        // Polled together, so each binary's time is its own.
        for (const auto& binary : fleet.binaries()) f.ready_after_s[binary] = -1;
        wait_until(
            [&] {
              bool all = true;
              for (auto& [binary, after] : f.ready_after_s) {
                if (after >= 0) continue;
                if (fleet.ready(binary)) {
                  after = seconds_between(f.recovered, Clock::now());
                } else {
                  all = false;
                }
              }
              return all;
            },
            30s, 100ms);
        std::vector<std::string> late;
        for (const auto& [binary, after] : f.ready_after_s) {
          if (after < 0 || after > 10.0) late.push_back(fmt::format("{} {:.1f}s", binary, after));
        }
        std::string readies;
        for (const auto& [binary, s] : f.ready_after_s) readies += fmt::format(" {} {:.1f}s", binary, s);
        say(fmt::format("{} back after {:.1f}s down; /readyz 200 after:{}", f.target, f.down_s, readies));
        if (!late.empty()) f.note += "late /readyz: " + fmt::format("{}", fmt::join(late, ", "));
      }
      f.done = true;
    }
  });

  // --- resources: resident memory and open descriptors of every binary over time ---
  const auto sample_every = std::chrono::seconds(env_int("EARSHOT_CHAOS_SAMPLE_SECONDS", 10));
  std::map<std::string, std::vector<std::string>> samples;  // binary -> "t: MB/fds"
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    auto next = Clock::now();
    while (sampling) {
      for (const auto& binary : fleet.binaries()) {
        if (auto st = fleet.stats(binary)) {
          std::lock_guard lock(log_mu);
          samples[binary].push_back(fmt::format("{:.0f}s {:.0f}MB/{}", seconds_between(t0, Clock::now()),
                                                static_cast<double>(st->rss_bytes) / 1048576.0, st->open_fds));
        }
      }
      next += sample_every;
      while (sampling && Clock::now() < next) std::this_thread::sleep_for(100ms);
    }
  });

  // --- the ingest client: spread over the fault window, retries with the same external id ---
  std::vector<IngestedCall> calls;
  std::vector<std::string> ingest_errors;
  std::thread client([&] {
    const double spacing = fault_window_s * 0.8 / std::max(1, total_calls);
    for (int i = 0; i < total_calls; ++i) {
      const auto due = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i * spacing));
      std::this_thread::sleep_until(due);
      auto& b = businesses[static_cast<std::size_t>(i % 3)];
      IngestedCall c{b.bid, fmt::format("chaos-{:04d}", i), 0, (i / 3) % 3 != 2, 0};
      const std::string agent = fmt::format("agent-{}", (i / 3) % 4);
      const std::string started = fmt::format("2026-12-0{}T{:02d}:{:02d}:00Z", 1 + i % 5, 8 + (i / 60) % 10, i % 60);
      const auto end = Clock::now() + 240s;
      while (true) {
        ++c.attempts;
        Reply r;
        if (c.audio) {
          httplib::MultipartFormDataItems items{
              {"audio", wavs[static_cast<std::size_t>(i % 4)], "call.wav", "audio/wav"},
              {"external_id", c.external_id, "", ""},
              {"agent_id", agent, "", ""},
              {"customer_phone", fmt::format("+1415555{:04d}", i), "", ""},
              {"started_at", started, "", ""},
              {"language", "en", "", ""}};
          r = api.upload(b.api_key, items);
        } else {
          r = api.push_transcript(b.api_key, {{"external_id", c.external_id},
                                              {"agent_id", agent},
                                              {"customer_phone", fmt::format("+1415555{:04d}", i)},
                                              {"started_at", started},
                                              {"language", "en"},
                                              {"segments", transcript_segments(i / 9)}});
        }
        if ((r.status == 200 || r.status == 201) && r.j.is_object()) {
          c.id = r.j.value("id", std::int64_t{0});
          break;
        }
        const bool retryable = r.status == 0 || r.status == 429 || r.status >= 500;
        if (!retryable || Clock::now() > end) {
          std::lock_guard lock(log_mu);
          ingest_errors.push_back(fmt::format("{} {}: HTTP {} after {} attempts: {}", c.bid, c.external_id, r.status,
                                              c.attempts, r.body.substr(0, 300)));
          break;
        }
        std::this_thread::sleep_for(300ms);
      }
      calls.push_back(std::move(c));
    }
  });
  client.join();
  const double ingest_s = seconds_between(t0, Clock::now());
  say(fmt::format("{} calls ingested in {:.1f}s ({} requests retried)", calls.size(), ingest_s,
                  std::count_if(calls.begin(), calls.end(), [](const IngestedCall& c) { return c.attempts > 1; })));
  driver.join();
  EXPECT_TRUE(ingest_errors.empty()) << fmt::format("{}", fmt::join(ingest_errors, "\n"));

  // --- everything settles: every call notified, every delivery out ---
  auto count_status = [&](const std::string& bid, const char* status) {
    return scalar("SELECT COUNT(*) FROM call_records WHERE bid = ? AND status = ?", {bid, status});
  };
  std::map<std::string, std::int64_t> expected;
  for (const auto& c : calls) ++expected[c.bid];
  const bool all_notified = wait_until(
      [&] {
        for (const auto& b : businesses) {
          if (count_status(b.bid, "notified") != expected[b.bid]) return false;
        }
        return true;
      },
      180s, 500ms);
  const bool all_delivered = all_notified && wait_until(
                                                 [&] {
                                                   for (const auto& b : businesses) {
                                                     if (scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE bid = "
                                                                "? AND status <> 'delivered'",
                                                                {b.bid}) != 0) {
                                                       return false;
                                                     }
                                                   }
                                                   return true;
                                                 },
                                                 120s, 500ms);
  const double settled_s = seconds_between(t0, Clock::now());
  sampling = false;
  sampler.join();
  say(fmt::format("settled: notified {}, webhooks delivered {}", all_notified, all_delivered));
  EXPECT_TRUE(all_notified);
  EXPECT_TRUE(all_delivered);

  // --- the checks, per business ---
  std::vector<std::string> report;
  auto names = [](const storage::ExecResult& r) {
    std::vector<std::string> out;
    for (const auto& row : r.rows) {
      std::string s;
      for (const auto& v : row) s += (s.empty() ? "" : "/") + (v.is_null() ? std::string("NULL") : v.as_string());
      out.push_back(s);
      if (out.size() == 20) break;
    }
    return fmt::format("{}{}", fmt::join(out, ", "), r.rows.size() > 20 ? ", ..." : "");
  };
  auto check_none = [&](const std::string& what, const std::string& bid, const std::string& sql) {
    auto r = query(sql, {bid});
    EXPECT_TRUE(r.rows.empty()) << bid << ": " << what << ": " << names(r);
    return r.rows.size();
  };
  for (const auto& b : businesses) {
    const std::string& bid = b.bid;
    const auto n = expected[bid];
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM call_records WHERE bid = ?", {bid}), n) << bid;
    check_none("calls not notified (id/external id/status/failed stage/reason)", bid,
               "SELECT id, external_id, status, failed_stage, failed_reason FROM call_records WHERE bid = ? AND "
               "status <> 'notified'");
    check_none("calls whose notify stage succeeded more than once (id/times)", bid,
               "SELECT call_id, COUNT(*) FROM processing_events WHERE bid = ? AND stage = 'notify' AND outcome = "
               "'succeeded' GROUP BY call_id HAVING COUNT(*) > 1");
    // A notify worker killed between the status change and its success event leaves none:
    // reported, not failed (the call's state and its webhooks are what count).
    auto unrecorded = query(
        "SELECT c.id, c.external_id FROM call_records c WHERE c.bid = ? AND c.status = 'notified' AND NOT EXISTS "
        "(SELECT 1 FROM processing_events e WHERE e.bid = c.bid AND e.call_id = c.id AND e.stage = 'notify' AND "
        "e.outcome = 'succeeded')",
        {bid});
    if (!unrecorded.rows.empty()) {
      report.push_back(fmt::format("NOTE {}: notified without a notify `succeeded` event: {}", bid, names(unrecorded)));
    }
    check_none("calls without exactly one transcript", bid,
               "SELECT c.id, c.external_id FROM call_records c LEFT JOIN transcripts t ON t.bid = c.bid AND "
               "t.call_id = c.id WHERE c.bid = ? GROUP BY c.id, c.external_id HAVING COUNT(t.call_id) <> 1");
    check_none("calls without exactly one metrics row", bid,
               "SELECT c.id, c.external_id FROM call_records c LEFT JOIN call_metrics m ON m.bid = c.bid AND "
               "m.call_id = c.id WHERE c.bid = ? GROUP BY c.id, c.external_id HAVING COUNT(m.call_id) <> 1");
    check_none("calls without analyses", bid,
               "SELECT c.id, c.external_id FROM call_records c WHERE c.bid = ? AND NOT EXISTS (SELECT 1 FROM "
               "analyses a WHERE a.bid = c.bid AND a.call_id = c.id)");
    check_none("calls with two latest analyses of one agent (id/agent/rows)", bid,
               "SELECT call_id, agent_config_id, COUNT(*) FROM analyses WHERE bid = ? AND is_latest = 1 GROUP BY "
               "call_id, agent_config_id HAVING COUNT(*) > 1");
    check_none("calls with more than one escalation (id/rows)", bid,
               "SELECT call_id, COUNT(*) FROM escalations WHERE bid = ? GROUP BY call_id HAVING COUNT(*) > 1");
    check_none("human agents whose call count is off (agent/counted/calls)", bid,
               "SELECT h.external_id, h.total_calls, (SELECT COUNT(*) FROM call_records c WHERE c.bid = h.bid AND "
               "c.human_agent_id = h.id) AS calls FROM human_agents h WHERE h.bid = ? HAVING h.total_calls <> calls");
    check_none("human agents whose escalation count is off (agent/counted/escalations)", bid,
               "SELECT h.external_id, h.escalations, (SELECT COUNT(*) FROM escalations e JOIN call_records c ON "
               "c.bid = e.bid AND c.id = e.call_id WHERE e.bid = h.bid AND c.human_agent_id = h.id) AS n FROM "
               "human_agents h WHERE h.bid = ? HAVING h.escalations <> n");
    check_none("calls not counted in their agent's aggregates", bid,
               "SELECT id, external_id FROM call_records WHERE bid = ? AND aggregated <> 1");

    // Webhooks: every event of the database accepted once by the receiver, nothing else.
    std::map<std::string, std::string> in_db;  // event id -> type
    for (const auto& row : query("SELECT event_id, event_type FROM webhook_deliveries WHERE bid = ? AND channel = "
                                 "'webhook'",
                                 {bid})
                               .rows) {
      in_db[row[0].as_string()] = row[1].as_string();
    }
    std::map<std::string, std::string> received;
    for (const auto& w : b.receiver->accepted()) received[w.event_id] = w.event_type;
    std::vector<std::string> missing, unexpected;
    for (const auto& [id, type] : in_db) {
      if (!received.contains(id)) missing.push_back(fmt::format("{} {}", type, id));
    }
    for (const auto& [id, type] : received) {
      if (!in_db.contains(id)) unexpected.push_back(fmt::format("{} {}", type, id));
    }
    EXPECT_TRUE(missing.empty())
        << bid << ": " << missing.size() << " events never accepted: "
        << fmt::format("{}", fmt::join(missing.begin(),
                                       missing.begin() + std::min<std::ptrdiff_t>(std::ssize(missing), 20), ", "));
    EXPECT_TRUE(unexpected.empty()) << bid << ": events with no delivery row: "
                                    << fmt::format("{}", fmt::join(unexpected, ", "));
    EXPECT_EQ(b.receiver->bad_signatures(), 0) << bid;
    std::map<std::string, int> by_type;
    for (const auto& [id, type] : received) ++by_type[type];
    const auto escalations = scalar("SELECT COUNT(*) FROM escalations WHERE bid = ?", {bid});
    const auto matches = scalar("SELECT COUNT(*) FROM call_category_matches WHERE bid = ?", {bid});
    EXPECT_EQ(by_type["call.analyzed"], n) << bid;
    EXPECT_EQ(by_type["escalation.created"], escalations) << bid;
    EXPECT_EQ(by_type["category.matched"], matches) << bid;

    // The subscription kept going: never paused.
    auto sub =
        query("SELECT consecutive_failures, paused_at, pause_reason FROM webhook_subscriptions WHERE bid = ?", {bid});
    for (const auto& row : sub.rows) {
      EXPECT_TRUE(row[1].is_null()) << bid << ": subscription paused: " << row[2].as_string();
    }
    report.push_back(
        fmt::format("{}: {} calls notified of {}; {} escalations, {} category matches; {} webhook events accepted once "
                    "({} repeats answered by the receiver, {} missing)",
                    bid, count_status(bid, "notified"), n, escalations, matches, received.size(),
                    b.receiver->duplicates(), missing.size()));
  }

  // Dead letters: none in any of the businesses' dead-letter queues.
  {
    const auto mgmt_port = std::stoi(ep.rabbitmq_mgmt_url.substr(ep.rabbitmq_mgmt_url.rfind(':') + 1));
    httplib::Client mgmt("127.0.0.1", mgmt_port);
    mgmt.set_basic_auth("guest", "guest");
    mgmt.set_read_timeout(10, 0);
    json queues;
    wait_until(
        [&] {
          auto res = mgmt.Get("/api/queues/%2F?columns=name,messages");
          if (!res || res->status != 200) return false;
          queues = json::parse(res->body, nullptr, false);
          return queues.is_array();
        },
        30s, 500ms);
    ASSERT_TRUE(queues.is_array()) << "RabbitMQ management API unreachable at " << ep.rabbitmq_mgmt_url;
    int dlqs = 0;
    for (const auto& q : queues) {
      const std::string name = q.value("name", "");
      for (const auto& b : businesses) {
        if (name.rfind("dlq.", 0) == 0 && name.size() > b.bid.size() &&
            name.compare(name.size() - b.bid.size(), b.bid.size(), b.bid) == 0) {
          ++dlqs;
          EXPECT_EQ(q.value("messages", 0), 0) << name << " holds dead letters";
        }
      }
    }
    report.push_back(fmt::format("dead-letter queues checked: {}", dlqs));
  }

  // Faults: /readyz within 10 s of each server's return; each kill's binary back.
  std::map<std::string, std::vector<double>> cost_by_kind;
  std::map<std::string, std::vector<double>> gap_by_kind;  // longest wait between notified calls
  std::vector<Clock::time_point> analyzed_at;
  for (const auto& b : businesses) {
    for (const auto& w : b.receiver->accepted()) {
      if (w.event_type == "call.analyzed") analyzed_at.push_back(w.at);
    }
  }
  std::sort(analyzed_at.begin(), analyzed_at.end());
  for (const auto& f : plan) {
    EXPECT_TRUE(f.done);
    EXPECT_TRUE(f.note.empty()) << f.kind << " " << f.target << ": " << f.note;
    for (const auto& [binary, s] : f.ready_after_s) {
      EXPECT_GE(s, 0.0) << binary << " never ready after " << f.target << " came back";
      EXPECT_LE(s, 10.0) << binary << " /readyz 200 only " << s << " s after " << f.target << " came back";
    }
    // Fault cost: from the fault to the next call.analyzed webhook the receivers accepted.
    auto next = std::upper_bound(analyzed_at.begin(), analyzed_at.end(), f.began);
    const std::string kind = f.kind == "kill" ? "SIGKILL " + f.target : f.target + " restart";
    if (next != analyzed_at.end()) cost_by_kind[kind].push_back(seconds_between(f.began, *next));
    // And the longest wait between one notified call and the next from the fault until the
    // first call notified after its recovery.
    auto last = std::upper_bound(analyzed_at.begin(), analyzed_at.end(), f.recovered);
    if (last != analyzed_at.end()) {
      double gap = 0;
      Clock::time_point prev = f.began;
      for (auto it = next; it != last + 1; ++it) {
        gap = std::max(gap, seconds_between(prev, *it));
        prev = *it;
      }
      gap_by_kind[kind].push_back(gap);
    }
  }
  report.push_back(fmt::format("run: {:.1f}s of ingest, settled at {:.1f}s after the start; {} faults", ingest_s,
                               settled_s, plan.size()));
  for (const auto& [kind, costs] : cost_by_kind) {
    double sum = 0;
    for (double c : costs) sum += c;
    const auto& gaps = gap_by_kind[kind];
    report.push_back(fmt::format(
        "fault cost {:<22} next call notified after: mean {:.2f}s, max {:.2f}s; longest wait between notified calls "
        "until recovered: max {} ({} faults)",
        kind, sum / static_cast<double>(costs.size()), *std::max_element(costs.begin(), costs.end()),
        gaps.empty() ? std::string("- (no call notified after it)")
                     : fmt::format("{:.2f}s", *std::max_element(gaps.begin(), gaps.end())),
        costs.size()));
  }
  for (const auto& [binary, list] : samples) {
    report.push_back(fmt::format("earshot-{} RSS/open fds: {}", binary, fmt::join(list, ", ")));
  }
  fmt::print("chaos report (seed {}):\n", seed);
  for (const auto& line : report) fmt::print("  {}\n", line);
  std::fflush(stdout);

  // On failure: what is stuck, and what each binary said last.
  if (HasFailure()) {
    for (const auto& b : businesses) {
      auto stuck = query(
          "SELECT id, event_type, status, attempts, next_attempt_at, last_error FROM webhook_deliveries WHERE bid = ? "
          "AND status <> 'delivered' ORDER BY id LIMIT 30",
          {b.bid});
      if (!stuck.rows.empty()) fmt::print("chaos: {} undelivered rows: {}\n", b.bid, names(stuck));
      auto subs = query(
          "SELECT id, enabled, consecutive_failures, paused_at, pause_reason FROM webhook_subscriptions WHERE bid = ?",
          {b.bid});
      fmt::print("chaos: {} subscription: {}\n", b.bid, names(subs));
      auto unfinished = query(
          "SELECT e.call_id, e.stage, e.outcome, e.attempt, e.error FROM processing_events e JOIN call_records c ON "
          "c.bid = e.bid AND c.id = e.call_id WHERE e.bid = ? AND c.status <> 'notified' ORDER BY e.id LIMIT 40",
          {b.bid});
      if (!unfinished.rows.empty()) {
        fmt::print("chaos: {} events of unfinished calls: {}\n", b.bid, names(unfinished));
      }
    }
    fmt::print("{}\n", fleet.tails(25));
  }
  std::filesystem::remove_all(objects);
}

}  // namespace
}  // namespace earshot::testing

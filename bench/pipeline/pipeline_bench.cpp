// The whole pipeline as one system: the five real binaries (gateway, sync, stt, analyze,
// notify) as processes against the local MariaDB, RabbitMQ and Redis, with the outside world
// in a forked child: a fake Deepgram and a fake Ollama answering after a set latency in their
// real wire formats (bench/common/lean_deepgram.hpp and lean_ollama.hpp: the tests' fakes'
// answers over a leaner server), every call's conversation with a word of its own. The recordings are a few stereo 8
// kHz WAVs of 3-8 minutes, generated once and cached under .local/bench/pipeline/. Calls come in through the gateway's
// ingest API at a set rate (`POST /api/v1/calls` with an ingest key, the recording named by its object-store URI): each
// business's few recordings are placed in the object store once and every call points at one of them, so the disk does
// not fill at hundreds of megabytes a second, while the stt worker still reads, decodes and measures every call's whole
// recording.
//
//   eval "$(scripts/services.sh --instance test env)"
//   build/bin/pipeline_bench [--rate 28] [--seconds 600] [--businesses 3] [--stt-latency-ms 0]
//                            [--llm-latency-ms 0] [--min-minutes 3] [--max-minutes 8]
//                            [--recordings 6] [--sample-ms 1000] [--drain-seconds 300]
//                            [--out build/pipeline-bench] [--env BINARY:KEY=VALUE]...
//
// Prints calls/s and audio minutes/hour end to end over the feeding window, per stage
// throughput and CPU per call (each process's utime+stime from /proc, the servers' too),
// queue depths over time, p50/p99 from the row's insertion to `notified`, peak RSS per
// binary, and which stage saturated first (its queue held a second of calls and grew by
// half a second of calls over ten samples while calls were fed). Writes <out>/samples.csv and, when gnuplot is
// installed, <out>/pipeline.png (bench/pipeline/plot.gp). The data lives in its own database `earshot_pipeline_bench`,
// dropped and created again at every run.
#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_common.hpp"
#include "common/lean_deepgram.hpp"
#include "common/lean_ollama.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "fakes/stt/fake_server.hpp"
#include "fleet.hpp"
#include "gateway_client.hpp"

using namespace earshot;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using Steady = std::chrono::steady_clock;
using earshot::bench::need;
using earshot::bench::status_kb;
constexpr const char* kDatabase = "earshot_pipeline_bench";
constexpr const char* kPassword = "pipeline bench password";
constexpr int kRate = 8000;

struct Options {
  double rate = 28;  // calls per second offered
  int seconds = 600;
  int businesses = 3;
  int stt_latency_ms = 0;
  int llm_latency_ms = 0;
  int min_minutes = 3;
  int max_minutes = 8;
  int recordings = 6;
  int sample_ms = 1000;
  int drain_seconds = 300;
  std::string out = "build/pipeline-bench";
  // --env BINARY:KEY=VALUE (repeatable): extra environment for one binary of the fleet.
  std::map<std::string, std::map<std::string, std::string>> env;
};

[[noreturn]] void usage() {
  std::cerr << "usage: pipeline_bench [--rate CALLS_PER_S] [--seconds N] [--businesses N] [--stt-latency-ms N]\n"
               "                      [--llm-latency-ms N] [--min-minutes N] [--max-minutes N] [--recordings N]\n"
               "                      [--sample-ms N] [--drain-seconds N] [--out DIR]\n"
               "                      [--env BINARY:KEY=VALUE]... (e.g. --env analyze:EARSHOT_ANALYZE_WORK_THREADS=4)\n"
               "Needs the services' environment: eval \"$(scripts/services.sh --instance test env)\"\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--help" || k == "-h") usage();
    if (i + 1 >= argc) usage();
    const std::string v = argv[++i];
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    const bool number = end != v.c_str() && *end == '\0' && d >= 0;
    if (k == "--out") {
      o.out = v;
      continue;
    }
    if (k == "--env") {
      const auto colon = v.find(':');
      const auto eq = v.find('=');
      if (colon == std::string::npos || eq == std::string::npos || eq < colon + 2) usage();
      o.env[v.substr(0, colon)][v.substr(colon + 1, eq - colon - 1)] = v.substr(eq + 1);
      continue;
    }
    if (!number) usage();
    const int n = static_cast<int>(d);
    if (k == "--rate")
      o.rate = d;
    else if (k == "--seconds")
      o.seconds = n;
    else if (k == "--businesses")
      o.businesses = n;
    else if (k == "--stt-latency-ms")
      o.stt_latency_ms = n;
    else if (k == "--llm-latency-ms")
      o.llm_latency_ms = n;
    else if (k == "--min-minutes")
      o.min_minutes = n;
    else if (k == "--max-minutes")
      o.max_minutes = n;
    else if (k == "--recordings")
      o.recordings = n;
    else if (k == "--sample-ms")
      o.sample_ms = n;
    else if (k == "--drain-seconds")
      o.drain_seconds = n;
    else
      usage();
  }
  if (o.rate <= 0 || o.seconds <= 0 || o.businesses <= 0 || o.recordings <= 0 || o.sample_ms < 100 ||
      o.min_minutes <= 0 || o.max_minutes < o.min_minutes) {
    usage();
  }
  return o;
}

// A stereo 8 kHz 16-bit recording of `minutes`: the agent (left) and the customer (right)
// take turns of speech-shaped noise (syllable gaps, 1-6 s turns, pauses between them).
std::string make_recording(int minutes, int variant) {
  std::mt19937 rng(static_cast<unsigned>(7000 + variant));
  std::normal_distribution<float> noise(0.0f, 0.15f);
  std::uniform_int_distribution<int> turn_s(1, 6);
  std::uniform_int_distribution<int> pause_ms(200, 1500);
  const std::size_t total = static_cast<std::size_t>(minutes) * 60 * kRate;
  audio::AudioBuffer call;
  call.sample_rate = kRate;
  call.channels.assign(2, std::vector<float>(total, 0.0f));
  std::size_t pos = kRate / 2;
  for (int turn = 0; pos < total; ++turn) {
    auto& channel = call.channels[static_cast<std::size_t>(turn % 2)];
    const std::size_t talk = static_cast<std::size_t>(turn_s(rng)) * kRate;
    for (std::size_t i = 0; i < talk && pos + i < total; ++i) {
      const bool voiced = (i / 800) % 4 != 3;
      const float env =
          voiced ? 0.8f * static_cast<float>(std::abs(std::sin(static_cast<double>(i) * 3.1416 / 1600.0))) : 0.0f;
      channel[pos + i] = std::clamp(noise(rng) * env, -1.0f, 1.0f);
    }
    pos += talk + static_cast<std::size_t>(pause_ms(rng)) * kRate / 1000;
  }
  return audio::encode_wav_pcm16(call);
}

// The recordings, generated once and kept under .local/bench/pipeline/.
std::vector<std::string> recordings(const Options& o) {
  const std::filesystem::path dir = std::filesystem::path(EARSHOT_SOURCE_DIR) / ".local/bench/pipeline";
  std::filesystem::create_directories(dir);
  std::vector<std::string> out;
  for (int k = 0; k < o.recordings; ++k) {
    const int minutes = o.min_minutes + (o.max_minutes - o.min_minutes) * k / std::max(1, o.recordings - 1);
    const auto path = dir / fmt::format("call-{}-{}min.wav", k, minutes);
    std::string bytes;
    if (std::ifstream in(path, std::ios::binary); in) bytes.assign(std::istreambuf_iterator<char>(in), {});
    if (bytes.size() != 44 + static_cast<std::size_t>(minutes) * 60 * kRate * 4) {
      bytes = make_recording(minutes, k);
      std::ofstream(path, std::ios::binary) << bytes;
    }
    out.push_back(std::move(bytes));
  }
  return out;
}

// The word in the conversation the fake Deepgram replaces by another for every request.
constexpr std::string_view kCallWord = "zqxjkvbw";

// What the fake Deepgram says for every call: a five-minute support conversation, the
// same but for one word (kCallWord) that differs call to call.
std::vector<testing::FakeUtterance> conversation() {
  const std::vector<std::string> agent = {
      "Thank you for calling, my name is Sam, how can I help you today?",
      "I am sorry to hear that, let me pull up your account.",
      "I can see the second charge on your invoice, I will refund it now.",
      "Is there anything else I can help you with today?",
      "The annual plan comes with a discount, I can send you a quote.",
      "Thank you for your patience, have a great day.",
  };
  const std::vector<std::string> customer = {
      "Hi, I was charged twice on my last invoice for the zqxjkvbw add-on and I want a refund.",
      "It is the third time I call about this and it is getting ridiculous.",
      "Okay, thank you, how long will the refund take?",
      "I would also like to hear about upgrading my plan.",
      "Great, please send me the price by email.",
      "Thanks a lot for the help, goodbye.",
  };
  std::vector<testing::FakeUtterance> out;
  double t = 0.5;
  for (int i = 0; t < 290; ++i) {
    const bool by_agent = i % 2 == 0;
    const auto& text = by_agent ? agent[static_cast<std::size_t>(i / 2) % agent.size()]
                                : customer[static_cast<std::size_t>(i / 2) % customer.size()];
    const double len = 2.0 + static_cast<double>(text.size()) / 15.0;
    out.push_back({by_agent ? 1 : 0, by_agent ? 0 : 1, t, t + len, text});
    t += len + 0.6;
  }
  return out;
}

// Valid answers for the default agents (pipeline/default_agents.cpp), by their task line.
void agent_replies(bench::LeanOllama& llm) {
  llm.set_reply_for("Task: summary",
                    R"({"summary":"The customer was charged twice; the agent refunded it.","key_points":["refund"]})");
  const std::string item = R"({"value":null,"evidence":null})";
  llm.set_reply_for("Task: bant", R"({"budget":)" + item + R"(,"authority":)" + item + R"(,"need":)" + item +
                                      R"(,"timeline":)" + item + R"(,"qualified":false})");
  llm.set_reply_for("Task: sop_compliance", R"({"score":90,"violations":[]})");
  llm.set_reply_for("Task: objections", R"({"objections":[]})");
  llm.set_reply_for("Task: coaching_tips", R"({"tips":[{"tip":"Confirm the refund date."}],"strength":"Calm."})");
  llm.set_reply_for("Task: issue_outcome",
                    R"({"issue":"double charge","outcome":"refunded","action_items":[],"escalate":false})");
}

struct WorldPorts {
  int deepgram = 0;
  int ollama = 0;
  char deepgram_key[128] = {};
};

// Child: the outside world (the speech and LLM providers), until the parent closes `stop_fd`.
[[noreturn]] void run_world(const Options& o, int port_fd, int stop_fd) {
  const testing::FakeProviderServer::Options fo;  // the tests' fakes' API key
  bench::LeanDeepgram deepgram(fo.api_key, conversation(), std::chrono::milliseconds(o.stt_latency_ms),
                               std::string(kCallWord));
  bench::LeanOllama ollama{std::chrono::milliseconds(o.llm_latency_ms)};
  agent_replies(ollama);
  if (!deepgram.start() || !ollama.start()) _exit(3);
  WorldPorts ports{deepgram.port(), ollama.port()};
  const std::string key = fo.api_key;
  if (key.size() >= sizeof ports.deepgram_key) _exit(5);
  std::copy(key.begin(), key.end(), ports.deepgram_key);
  if (write(port_fd, &ports, sizeof ports) != sizeof ports) _exit(4);
  char c = 0;
  while (read(stop_fd, &c, 1) > 0) {
  }
  deepgram.stop();
  ollama.stop();
  _exit(0);
}

// utime + stime of a process in seconds; -1 when it is gone.
double cpu_seconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;) f.push_back(x);
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  if (f.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / ticks;
}

// Open file descriptors of a process (-1 when they cannot be listed).
long open_fds(pid_t pid) {
  std::error_code ec;
  long n = 0;
  for (std::filesystem::directory_iterator it(fmt::format("/proc/{}/fd", pid), ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

// The pid scripts/services.sh wrote for a server under ES_SERVICES_DIR (0 when unknown):
// mariadb/mariadb.pid, rabbitmq/rabbit.pid (the broker's VM), redis/redis.pid.
pid_t server_pid(const std::string& server, const std::string& file) {
  const char* dir = std::getenv("ES_SERVICES_DIR");
  if (dir == nullptr) return 0;
  std::ifstream in(std::filesystem::path(dir) / server / file);
  long pid = 0;
  return in >> pid && pid > 0 ? static_cast<pid_t>(pid) : 0;
}

// The gateway's API; any answer but `want` ends the run.
class Api {
 public:
  explicit Api(int port) : client_(port, 60) {}
  json call(const std::string& method, const std::string& path, const std::string& token, const json& body,
            int want) const {
    auto r = client_.call(method, path, token, body);
    if (r.status != want) {
      std::cerr << "pipeline_bench: " << method << " " << path << " answered "
                << (r.status != 0 ? std::to_string(r.status) + " " + r.body : std::string("nothing")) << "\n";
      std::exit(1);
    }
    return r.j;
  }

 private:
  testing::GatewayClient client_;
};

struct Sample {
  double t = 0;
  std::map<std::string, std::int64_t> depth;  // stage -> messages in its work queues
  std::map<std::string, std::int64_t> past;   // stage -> calls past it (transcribed+, ...)
  std::map<std::string, double> cpu;          // process -> CPU seconds so far
  std::map<std::string, long> rss_kb;
  std::map<std::string, long> fds;  // open descriptors (-1: unreadable)
  std::int64_t fed = 0;
  std::int64_t failed = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto recs = recordings(o);
  std::vector<double> rec_minutes;
  for (const auto& r : recs) rec_minutes.push_back(static_cast<double>(r.size() - 44) / (kRate * 4) / 60.0);

  // The outside world, forked before this process starts any thread.
  int port_pipe[2];
  int stop_pipe[2];
  // Close-on-exec: the fleet's binaries must not hold the stop pipe open.
  if (pipe2(port_pipe, O_CLOEXEC) != 0 || pipe2(stop_pipe, O_CLOEXEC) != 0) return 1;
  const pid_t world = fork();
  if (world == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    run_world(o, port_pipe[1], stop_pipe[0]);
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  WorldPorts ports;
  if (read(port_pipe[0], &ports, sizeof ports) != sizeof ports) {
    std::cerr << "pipeline_bench: the fake providers did not start\n";
    return 1;
  }
  log::init("pipeline-bench", "warn");

  // The services' settings.
  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_") || k.starts_with("EARSHOT_AMQP_")) env[k] = v;
  }
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  mysql.declare(spec);
  amqp.declare(spec);
  need(spec.load(env), "config (eval \"$(scripts/services.sh --instance test env)\")");
  const char* redis = std::getenv("EARSHOT_REDIS_URL");
  if (redis == nullptr) bench::fail("config", Error(ErrorCode::kInvalidArgument, "EARSHOT_REDIS_URL is not set"));
  const std::string mysql_user = mysql.user;
  const std::string mysql_password = mysql.password;
  mysql.database.clear();
  {
    storage::Database admin(mysql);
    need(admin.execute(fmt::format("DROP DATABASE IF EXISTS {}", kDatabase)), "drop database");
    need(admin.execute(fmt::format("CREATE DATABASE {} CHARACTER SET utf8mb4", kDatabase)), "create database");
  }
  mysql.database = kDatabase;
  storage::Database db(mysql);
  need(storage::Migrator(db, storage::embedded_migrations()).migrate(), "migrate");

  // The fleet.
  const std::string objects = (std::filesystem::temp_directory_path() / fmt::format("earshot-pipeline-{}", getpid()));
  std::filesystem::create_directories(objects);
  testing::FleetOptions fo;
  fo.env = {{"EARSHOT_MYSQL_HOST", mysql.host},
            {"EARSHOT_MYSQL_PORT", std::to_string(mysql.port)},
            {"EARSHOT_MYSQL_USER", mysql_user},
            {"EARSHOT_MYSQL_PASSWORD", mysql_password},
            {"EARSHOT_MYSQL_DATABASE", kDatabase},
            {"EARSHOT_AMQP_URL", env.count("EARSHOT_AMQP_URL") ? env["EARSHOT_AMQP_URL"] : ""},
            {"EARSHOT_REDIS_URL", redis},
            {"EARSHOT_MASTER_KEYS", "k1:" + crypto::Keyring::generate_key_base64()},
            {"EARSHOT_MASTER_KEY_ID", "k1"},
            {"EARSHOT_LOG_LEVEL", "warn"},
            {"EARSHOT_EGRESS_ALLOW", fmt::format("127.0.0.1:{},127.0.0.1:{}", ports.deepgram, ports.ollama)}};
  fo.env_by_binary["gateway"] = {{"EARSHOT_JWT_SECRET", std::string(48, 'p')},
                                 {"EARSHOT_RATE_LIMIT_ENABLED", "false"},
                                 {"EARSHOT_OBJECT_STORE_DIR", objects}};
  fo.env_by_binary["stt"]["EARSHOT_OBJECT_STORE_DIR"] = objects;
  fo.env_by_binary["sync"]["EARSHOT_OBJECT_STORE_DIR"] = objects;
  // The three businesses share one fake LLM (one provider, model and key), so the analyze worker's
  // process-wide cap per provider must hold all of their agents at once: at 28 calls/s, six
  // agents a call and 2 s a request, about 340 requests are in flight.
  // The same for the HTTP client's connections to one host (default 256).
  fo.env_by_binary["analyze"]["EARSHOT_LLM_PROVIDER_MAX_IN_FLIGHT"] = "1024";
  fo.env_by_binary["analyze"]["EARSHOT_HTTP_CLIENT_MAX_CONNECTIONS_PER_HOST"] = "1024";
  fo.env_by_binary["analyze"]["EARSHOT_SENTIMENT_LEXICON"] =
      std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
  for (const auto& [binary, vars] : o.env) {
    for (const auto& [key, value] : vars) fo.env_by_binary[binary][key] = value;
  }
  testing::Fleet fleet(fo);
  if (!fleet.start()) {
    std::cerr << "pipeline_bench: the fleet did not start: " << fleet.error() << "\n" << fleet.tails(30);
    return 1;
  }
  const Api api(fleet.api_port());

  // The businesses: Deepgram for speech, Ollama for the default agents, an ingest key, and
  // their recordings in the object store under their own prefix.
  storage::MySqlUserRepository users(db);
  const std::string root = "root@pipeline.bench";
  need(users.create_platform_admin(root, need(crypto::hash_password(kPassword), "hash")), "platform admin");
  auto login = [&](const std::string& email, const std::string& bid) {
    json body{{"email", email}, {"password", kPassword}};
    if (!bid.empty()) body["bid"] = bid;
    return api.call("POST", "/api/v1/auth/login", "", body, 200).value("access_token", "");
  };
  const std::string platform = login(root, "");
  std::vector<std::string> bids;
  std::vector<std::string> keys;
  for (int b = 0; b < o.businesses; ++b) {
    const std::string bid = fmt::format("bench{}", b);
    bids.push_back(bid);
    const std::string admin_email = "admin@" + bid + ".bench";
    api.call("POST", "/api/v1/admin/businesses", platform,
             {{"bid", bid}, {"name", "Bench " + bid}, {"admin_email", admin_email}, {"admin_password", kPassword}},
             201);
    const std::string token = login(admin_email, bid);
    const std::string base = "/api/v1/admin/businesses/" + bid;
    api.call(
        "PUT", base + "/pipeline-config", token,
        {{"stt_provider", "deepgram"},
         {"stt_options", {{"base_url", fmt::format("http://127.0.0.1:{}", ports.deepgram)}, {"timeout_ms", 60000}}},
         {"llm_chain", json::array({{{"provider", "ollama"},
                                     {"model", "llama3"},
                                     {"base_url", fmt::format("http://127.0.0.1:{}", ports.ollama)},
                                     {"timeout_ms", 60000},
                                     // A business's own cap on requests in flight (default 32):
                                     // a third of 28 calls/s, six agents, 2 s each is about 112.
                                     {"max_in_flight", 256}}})},
         {"secrets", {{"stt_api_key", std::string(ports.deepgram_key)}}}},
        200);
    keys.push_back(api.call("POST", base + "/api-keys", token, {{"name", "bench ingest"}, {"scopes", {"ingest"}}}, 201)
                       .value("secret", ""));
    std::filesystem::create_directories(std::filesystem::path(objects) / bid / "rec");
    for (std::size_t k = 0; k < recs.size(); ++k) {
      std::ofstream(std::filesystem::path(objects) / bid / "rec" / fmt::format("{}.wav", k), std::ios::binary)
          << recs[k];
    }
  }
  queue::TopologySettings topo;
  need(topo.resolve(), "topology");
  queue::TopologyAdmin queues(amqp, topo);

  std::map<std::string, pid_t> pids;
  for (const auto& binary : fleet.binaries()) pids[binary] = fleet.pid(binary);
  pids["world"] = world;
  for (const auto& [server, file] : std::vector<std::pair<std::string, std::string>>{
           {"mariadb", "mariadb.pid"}, {"rabbitmq", "rabbit.pid"}, {"redis", "redis.pid"}}) {
    if (const pid_t p = server_pid(server, file); p > 0) pids[server] = p;
  }

  fmt::print(
      "pipeline_bench: {:.1f} calls/s for {} s from {} businesses; recordings {}-{} min stereo 8 kHz WAV; "
      "fake Deepgram at {} ms, fake Ollama at {} ms (6 agents a call)\n",
      o.rate, o.seconds, o.businesses, o.min_minutes, o.max_minutes, o.stt_latency_ms, o.llm_latency_ms);
  std::fflush(stdout);

  // The feeder: calls due every 100 ms go to client threads that post them (keep-alive).
  std::atomic<std::int64_t> fed{0};
  std::atomic<std::int64_t> refused{0};
  std::atomic<bool> feeding{true};
  std::mutex due_mu;
  std::condition_variable due_cv;
  std::deque<std::int64_t> due;
  bool due_closed = false;
  const auto t0 = Steady::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&] {
      httplib::Client cli("127.0.0.1", fleet.api_port());
      cli.set_keep_alive(true);
      cli.set_read_timeout(60, 0);
      while (true) {
        std::int64_t n = 0;
        {
          std::unique_lock l(due_mu);
          due_cv.wait(l, [&] { return due_closed || !due.empty(); });
          if (due.empty()) return;
          n = due.front();
          due.pop_front();
        }
        const auto b = static_cast<std::size_t>(n % o.businesses);
        const auto k = static_cast<std::size_t>(n % static_cast<std::int64_t>(recs.size()));
        const json body{{"external_id", fmt::format("pb-{}", n)},
                        {"audio_uri", fmt::format("store://{}/rec/{}.wav", bids[b], k)},
                        {"started_at", "2026-12-01T09:00:00Z"},
                        {"duration_ms", static_cast<std::int64_t>(rec_minutes[k] * 60000)},
                        {"channels", 2},
                        {"customer_phone", fmt::format("+1512555{:04d}", n % 10000)}};
        // A refused or unanswered call is sent again (same external id) until accepted.
        for (int attempt = 0; attempt < 20; ++attempt) {
          auto res = cli.Post("/api/v1/calls", {{"X-Api-Key", keys[b]}}, body.dump(), "application/json");
          if (res && (res->status == 202 || res->status == 200)) {
            ++fed;
            break;
          }
          if (refused++ == 0) {
            fmt::print(stderr, "pipeline_bench: first refused ingest: {}\n",
                       res ? fmt::format("{} {}", res->status, res->body) : std::string("no answer"));
          }
          std::this_thread::sleep_for(200ms);
        }
      }
    });
  }
  std::thread feeder([&] {
    std::int64_t n = 0;
    for (int tick = 1; tick <= o.seconds * 10; ++tick) {
      std::this_thread::sleep_until(t0 + tick * 100ms);
      const auto until = static_cast<std::int64_t>(o.rate * tick / 10.0);
      {
        std::lock_guard l(due_mu);
        for (; n < until; ++n) due.push_back(n);
      }
      due_cv.notify_all();
    }
    {
      std::lock_guard l(due_mu);
      due_closed = true;
    }
    due_cv.notify_all();
    for (auto& c : clients) c.join();
    feeding = false;
  });

  // The sampler.
  const std::vector<std::string> stages = {"transcribe", "analyze", "notify"};
  std::vector<Sample> samples;
  std::filesystem::create_directories(o.out);
  const std::string csv_path = o.out + "/samples.csv";
  std::ofstream csv(csv_path);
  std::vector<std::string> procs;
  for (const auto& [name, pid] : pids) procs.push_back(name);
  csv << "t_s,fed,failed";
  for (const auto& s : stages) csv << ",depth_" << s;
  for (const auto& s : stages) csv << ",done_" << s;
  for (const auto& p : procs) csv << ",cpu_" << p;
  for (const auto& p : procs) csv << ",rss_mb_" << p;
  for (const auto& p : procs) csv << ",fds_" << p;
  csv << "\n";
  const auto drain_end = t0 + std::chrono::seconds(o.seconds + o.drain_seconds);
  std::string saturated;
  double saturated_at = -1;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(o.sample_ms));
    Sample s;
    s.t = std::chrono::duration<double>(Steady::now() - t0).count();
    s.fed = fed;
    for (const auto& stage : stages) {
      const auto st = stage == "transcribe" ? queue::Stage::kTranscribe
                      : stage == "analyze"  ? queue::Stage::kAnalyze
                                            : queue::Stage::kNotify;
      std::int64_t depth = 0;
      for (const auto& bid : bids) {
        auto d = queues.queue_depth(queue::work_queue(st, bid));
        if (d) depth += *d;
      }
      s.depth[stage] = depth;
    }
    auto counts = db.execute("SELECT status, COUNT(*) FROM call_records WHERE bid LIKE 'bench%' GROUP BY status", {});
    std::map<std::string, std::int64_t> by_status;
    if (counts) {
      for (const auto& row : counts->rows) by_status[row[0].as_string()] = row[1].as_int();
    }
    s.past["transcribe"] =
        by_status["transcribed"] + by_status["analyzing"] + by_status["analyzed"] + by_status["notified"];
    s.past["analyze"] = by_status["analyzed"] + by_status["notified"];
    s.past["notify"] = by_status["notified"];
    s.failed = by_status["failed"];
    for (const auto& [name, pid] : pids) {
      s.cpu[name] = cpu_seconds(pid);
      s.rss_kb[name] = status_kb(pid, "VmRSS");
      s.fds[name] = open_fds(pid);
    }
    csv << fmt::format("{:.1f},{},{}", s.t, s.fed, s.failed);
    for (const auto& st : stages) csv << "," << s.depth[st];
    for (const auto& st : stages) csv << "," << s.past[st];
    for (const auto& p : procs) csv << fmt::format(",{:.2f}", s.cpu[p]);
    for (const auto& p : procs) csv << fmt::format(",{:.1f}", static_cast<double>(s.rss_kb[p]) / 1024.0);
    for (const auto& p : procs) csv << "," << s.fds[p];
    csv << "\n" << std::flush;
    // Saturation: while calls are fed, a stage's queue holds at least a second of calls and
    // grew by at least half a second of calls over the last ten samples (the depth is noisy
    // sample to sample, so a strict rise at every sample missed real backlogs).
    if (saturated.empty() && samples.size() >= 10 && feeding) {
      const auto& before = samples[samples.size() - 10];
      const double second_of_calls = std::max(2.0, o.rate);
      for (const auto& st : stages) {
        const auto grew = static_cast<double>(s.depth[st] - before.depth.at(st));
        if (static_cast<double>(s.depth[st]) >= second_of_calls && grew >= second_of_calls / 2 && saturated.empty()) {
          saturated = st;
          saturated_at = s.t;
        }
      }
    }
    const bool all_done = !feeding && s.past["notify"] + s.failed >= s.fed;
    if (static_cast<int>(samples.size()) % std::max(1, 10000 / o.sample_ms) == 0 || all_done) {
      fmt::print(
          "t={:6.1f}s fed {:6} | queued transcribe {:5} analyze {:5} notify {:5} | done {:6} {:6} {:6} | "
          "failed {}\n",
          s.t, s.fed, s.depth["transcribe"], s.depth["analyze"], s.depth["notify"], s.past["transcribe"],
          s.past["analyze"], s.past["notify"], s.failed);
      std::fflush(stdout);
    }
    samples.push_back(std::move(s));
    if (all_done || Steady::now() > drain_end) break;
  }
  feeding = false;
  feeder.join();
  csv.close();

  // Results.
  const Sample& last = samples.back();
  const double feed_s = static_cast<double>(o.seconds);
  // Throughput over the feeding window, after a warm-up of 10% of it.
  const double warm = std::min(60.0, feed_s * 0.1);
  auto at = [&](double t) -> const Sample& {
    for (const auto& s : samples)
      if (s.t >= t) return s;
    return samples.back();
  };
  const Sample& a = at(warm);
  const Sample& b = at(feed_s);
  const double window = std::max(1e-9, b.t - a.t);
  double mean_minutes = 0;
  for (double m : rec_minutes) mean_minutes += m;
  mean_minutes /= static_cast<double>(rec_minutes.size());

  std::vector<double> latencies;
  if (auto r = db.execute("SELECT TIMESTAMPDIFF(MICROSECOND, created_at, status_changed_at) FROM call_records "
                          "WHERE bid LIKE 'bench%' AND status = 'notified'",
                          {});
      r) {
    for (const auto& row : r->rows) latencies.push_back(static_cast<double>(row[0].as_int()) / 1e6);
  }

  fmt::print("\n== pipeline_bench results ==\n");
  fmt::print("ingest requests refused or unanswered (then sent again): {}\n", refused.load());
  fmt::print(
      "offered: {:.1f} calls/s ({:.0f} audio min/h) for {} s; {} calls fed, {} notified, {} failed, "
      "{} not finished {:.0f} s after feeding stopped\n",
      o.rate, o.rate * mean_minutes * 3600, o.seconds, last.fed, last.past.at("notify"), last.failed,
      last.fed - last.past.at("notify") - last.failed, last.t - feed_s);
  for (const auto& st : stages) {
    const double rate = static_cast<double>(b.past.at(st) - a.past.at(st)) / window;
    fmt::print(
        "  {:<10} {:6.2f} calls/s over t={:.0f}-{:.0f}s ({:.0f} audio min/h); queue at the end of feeding "
        "{}, peak {}\n",
        st, rate, a.t, b.t, rate * mean_minutes * 3600, b.depth.at(st),
        std::max_element(samples.begin(), samples.end(), [&](const Sample& x, const Sample& y) {
          return x.depth.at(st) < y.depth.at(st);
        })->depth.at(st));
  }
  const double e2e = static_cast<double>(b.past.at("notify") - a.past.at("notify")) / window;
  if (last.failed > 0) {
    if (auto r = db.execute("SELECT failed_stage, failed_reason, COUNT(*) FROM call_records WHERE bid LIKE 'bench%' "
                            "AND status = 'failed' GROUP BY failed_stage, failed_reason ORDER BY 3 DESC LIMIT 5",
                            {});
        r) {
      for (const auto& row : r->rows) {
        fmt::print("  FAILED {} calls in {}: {}\n", row[2].as_int(), row[0].as_string(), row[1].as_string());
      }
    }
  }
  fmt::print("end to end: {:.2f} calls/s = {:.0f} audio minutes/hour (mean call {:.1f} min)\n", e2e,
             e2e * mean_minutes * 3600, mean_minutes);
  fmt::print("ingest (call created) to notified: p50 {:.2f} s, p99 {:.2f} s, max {:.2f} s over {} calls\n",
             percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1.0), latencies.size());
  if (auto r =
          db.execute("SELECT COUNT(*), COALESCE(SUM(cache_hit), 0), COALESCE(SUM(status = 'failed'), 0) FROM analyses "
                     "WHERE bid LIKE 'bench%' AND model <> 'builtin'",
                     {});
      r && !r->rows.empty()) {
    fmt::print("LLM agent results: {} stored, {} answered from the result cache, {} failed\n", r->rows[0][0].as_int(),
               r->rows[0][1].as_int(), r->rows[0][2].as_int());
  }
  const auto notified = static_cast<double>(std::max<std::int64_t>(1, last.past.at("notify")));
  const Sample& first = samples.front();
  fmt::print("CPU per notified call (utime+stime), peak RSS:\n");
  double total_cpu = 0;
  for (const auto& [name, pid] : pids) {
    const double cpu = last.cpu.at(name) - first.cpu.at(name);
    total_cpu += cpu;
    const long hwm = status_kb(pid, "VmHWM");
    fmt::print("  {:<10} {:7.2f} ms/call  {:5.1f}% of a core  peak RSS {:6.1f} MB\n", name, cpu * 1000 / notified,
               100.0 * cpu / std::max(1e-9, last.t - first.t), static_cast<double>(hwm) / 1024.0);
  }
  fmt::print("  {:<10} {:7.2f} ms/call  (machine: {} cores)\n", "all", total_cpu * 1000 / notified,
             std::thread::hardware_concurrency());
  // Memory and descriptors over the run: seven points from the end of the warm-up to the end
  // of feeding, and each process's least-squares slope over every sample between them (a leak
  // shows as a steady rise, a warming cache as a rise that flattens).
  std::vector<const Sample*> points;
  for (int k = 0; k <= 6; ++k) points.push_back(&at(warm + (feed_s - warm) * k / 6));
  std::string heads;
  for (const Sample* x : points) heads += fmt::format(" {:>6}", fmt::format("{:.0f}s", x->t));
  fmt::print(
      "RSS (MB) and open descriptors from the end of the warm-up to the end of feeding, and the trend (least "
      "squares over every sample between, per 10 minutes):\n  {:<14}{}{:>10}\n",
      "t", heads, "trend");
  const auto trend = [&](const std::function<double(const Sample&)>& value) {
    double n = 0, st = 0, sv = 0, stt = 0, stv = 0;
    for (const auto& x : samples) {
      if (x.t < points.front()->t || x.t > points.back()->t) continue;
      const double v = value(x);
      n += 1;
      st += x.t;
      sv += v;
      stt += x.t * x.t;
      stv += x.t * v;
    }
    const double den = n * stt - st * st;
    return n < 2 || den <= 0 ? 0.0 : 600.0 * (n * stv - st * sv) / den;
  };
  for (const auto& [name, pid] : pids) {
    const auto mb = [&](const Sample& x) { return static_cast<double>(x.rss_kb.at(name)) / 1024.0; };
    const auto fd = [&](const Sample& x) { return static_cast<double>(x.fds.at(name)); };
    std::string rss, fds;
    for (const Sample* x : points) {
      rss += fmt::format(" {:6.1f}", mb(*x));
      fds += fmt::format(" {:6}", x->fds.at(name));
    }
    fmt::print("  {:<14}{}{:>+10.1f} MB\n  {:<14}{}{:>+10.1f}\n", name + " RSS", rss, trend(mb), name + " fds", fds,
               trend(fd));
  }
  fmt::print("saturated first: {}\n",
             saturated.empty() ? std::string("none (no queue held a second of calls and kept growing while fed)")
                               : fmt::format("{} (its queue grew from t={:.0f}s on)", saturated, saturated_at));

  // The plot.
  const std::string png = o.out + "/pipeline.png";
  const std::string script = std::string(EARSHOT_SOURCE_DIR) + "/bench/pipeline/plot.gp";
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    const auto cmd = fmt::format("gnuplot -e \"csv='{}'; png='{}'\" {}", csv_path, png, script);
    fmt::print("{}: {}\n", std::system(cmd.c_str()) == 0 ? "plot" : "plot FAILED", png);
  } else {
    fmt::print("gnuplot is not installed: no plot (scripts/install-deps.sh installs it)\n");
  }
  fmt::print("samples: {}\n", csv_path);

  close(stop_pipe[1]);
  int status = 0;
  waitpid(world, &status, 0);
  std::filesystem::remove_all(objects);
  return last.fed > 0 && last.past.at("notify") + last.failed >= last.fed && last.failed == 0 ? 0 : 1;
}

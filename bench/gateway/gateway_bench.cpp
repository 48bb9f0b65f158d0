// gateway_bench: wrk against the gateway's routes over the storage benchmark's data set
// (1,000,000 calls in 50 businesses, database `earshot_bench`; run `storage_bench --only list`
// first to create it). The gateway runs in this process on a free port with the production
// request pipeline (JWT auth, policies, JSON); rate limits are off so the figures measure the
// server, not the limiter. Routes: /healthz, the call list (50 rows, two filters) and a call's
// detail. Prints wrk's requests/s and latency percentiles for each.
//
// Pages of the list are served from the gateway's list cache (as in production: dropped
// whenever the business's calls change); each list page is then measured again with the
// cache off, so the figures show the database path too.
//
// wrk runs closed-loop (Debian's wrk has no fixed-rate mode), so each route is then also
// driven at fixed rates by an open-loop generator in this process: requests are scheduled
// at exact intervals, and latency counts from the scheduled time, so a server that falls
// behind shows the queueing (no coordinated omission).
//
// With --slow-connections N (and --idle-connections M), N connections that sent half a
// request line and M that sent nothing are held open (reopened when the server closes them)
// during the fixed-rate runs, so the figures show whether idle and slow clients stall the
// others. The process raises its RLIMIT_NOFILE to the hard limit (the gateway needs one
// descriptor per open connection: raise the binary's limit the same way in production).
//
// Each wrk run also prints the gateway's CPU per request: this process's utime + stime
// (/proc/self/stat) over the run divided by wrk's request count (wrk is another process,
// so that CPU is the server's: the listener threads, handlers, JSON, the database client).
//
// Usage: gateway_bench [--duration 10s] [--connections 32] [--threads 2] [--http-threads 32]
//                      [--rates 1000,3000] [--fixed-duration 5s] [--cache-ttl 5s]
//                      [--slow-connections N] [--idle-connections M] [--only healthz,list,...]
//                      [--no-wrk] [--no-fixed]
// Routes for --only: healthz, list, page2, list-nocache, page2-nocache, detail.
// Connection settings come from EARSHOT_MYSQL_* and EARSHOT_AMQP_URL.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_common.hpp"
#include "earshot/api/api_server.hpp"
#include "earshot/api/auth.hpp"
#include "earshot/api/business_admin.hpp"
#include "earshot/api/gateway.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_repositories.hpp"

namespace {

using namespace earshot;

using earshot::bench::need;

std::string run(const std::string& cmd) {
  std::string out;
  std::array<char, 4096> buf{};
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  pclose(p);
  return out;
}

std::string grab(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex(pattern))) return m[1];
  return "?";
}

std::chrono::milliseconds parse_ms(const std::string& text) {
  const double v = std::atof(text.c_str());
  if (text.ends_with("ms")) return std::chrono::milliseconds(static_cast<std::int64_t>(v));
  if (text.ends_with("m")) return std::chrono::milliseconds(static_cast<std::int64_t>(v * 60'000));
  return std::chrono::milliseconds(static_cast<std::int64_t>(v * 1000));
}

struct FixedRateResult {
  double achieved = 0;  // completed requests per second
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::size_t errors = 0;
  std::size_t unsent = 0;  // still queued when the run was cut off (twice its duration)
};

// Open loop: request i is due at start + i / rate; `connections` keep-alive clients take
// the next due request, wait for its time and send it. Latency is measured from the due
// time, so when the server (or the clients) fall behind, the wait shows in the figures.
// A server that cannot keep up is not waited for beyond twice the duration: the requests
// not sent by then are counted as unsent (the figures are then those of a saturated server).
FixedRateResult fixed_rate(int port, const std::string& path, const std::string& token, double rate,
                           std::chrono::milliseconds duration, int connections) {
  using Clock = std::chrono::steady_clock;
  const auto total = static_cast<std::size_t>(rate * static_cast<double>(duration.count()) / 1000.0);
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> errors{0};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(connections));
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  const auto cutoff = start + 2 * duration;
  std::atomic<std::size_t> unsent{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < connections; ++w) {
    workers.emplace_back([&, w] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(30, 0);
      const httplib::Headers h{{"Authorization", "Bearer " + token}};
      auto& mine = lat[static_cast<std::size_t>(w)];
      for (;;) {
        const std::size_t i = next.fetch_add(1);
        if (i >= total) break;
        if (Clock::now() > cutoff) {
          unsent.fetch_add(1);
          continue;
        }
        const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
        std::this_thread::sleep_until(due);
        auto res = cli.Get(path, h);
        if (!res || res->status != 200) errors.fetch_add(1);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
      }
    });
  }
  for (auto& t : workers) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  FixedRateResult r;
  r.errors = errors.load();
  r.unsent = unsent.load();
  if (all.empty()) return r;
  auto pct = [&](double p) {
    return all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))];
  };
  r.achieved = static_cast<double>(all.size()) / elapsed;
  r.p50_ms = pct(0.50);
  r.p99_ms = pct(0.99);
  r.max_ms = all.back();
  return r;
}

// This process's CPU time (user + system), in milliseconds.
double process_cpu_ms() {
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (f == nullptr) return 0;
  std::array<char, 4096> buf{};
  const auto n = std::fread(buf.data(), 1, buf.size() - 1, f);
  std::fclose(f);
  std::string stat(buf.data(), n);
  // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  std::size_t i = close + 2;
  while (i < stat.size()) {
    auto j = stat.find(' ', i);
    if (j == std::string::npos) j = stat.size();
    fields.push_back(stat.substr(i, j - i));
    i = j + 1;
  }
  if (fields.size() < 13) return 0;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) * 1000.0 / ticks;
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Holds `slow` connections that sent half a request line and `idle` that sent nothing,
// reopening any the server closes, until stopped.
class SlowClients {
 public:
  SlowClients(int port, int slow, int idle) : port_(port) {
    for (int i = 0; i < slow + idle; ++i) fds_.push_back({-1, i < slow});
    int n = 0;
    for (auto& c : fds_) {
      open(c);
      n += c.fd >= 0 ? 1 : 0;
    }
    open_ = n;
    thread_ = std::thread([this] { run(); });
  }
  ~SlowClients() {
    stop_ = true;
    thread_.join();
    for (auto& c : fds_) {
      if (c.fd >= 0) ::close(c.fd);
    }
  }
  [[nodiscard]] int open_now() const { return open_.load(); }
  [[nodiscard]] int reopened() const { return reopened_.load(); }

 private:
  struct Conn {
    int fd;
    bool slow;
  };
  void open(Conn& c) {
    c.fd = connect_loopback(port_);
    if (c.fd >= 0 && c.slow) (void)::send(c.fd, "GET /heal", 9, MSG_NOSIGNAL);
  }
  void run() {
    std::vector<pollfd> p(fds_.size());
    while (!stop_) {
      int n = 0;
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        p[i] = {fds_[i].fd, POLLIN, 0};
        n += fds_[i].fd >= 0 ? 1 : 0;
      }
      open_ = n;
      if (::poll(p.data(), p.size(), 100) > 0) {
        for (std::size_t i = 0; i < fds_.size(); ++i) {
          if (fds_[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char buf[4096];
            if (::recv(fds_[i].fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) {
              ::close(fds_[i].fd);
              open(fds_[i]);
              ++reopened_;
            }
          }
        }
      }
      for (auto& c : fds_) {
        if (c.fd < 0) open(c);
      }
    }
  }
  int port_;
  std::vector<Conn> fds_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> open_{0};
  std::atomic<int> reopened_{0};
};

}  // namespace

int main(int argc, char** argv) {
  std::string duration = "10s";
  std::string fixed_duration = "5s";
  std::string cache_ttl = "5s";
  std::vector<double> rates{1000, 3000};
  int connections = 32, threads = 2, http_threads = 32;
  int slow_connections = 0, idle_connections = 0;
  bool wrk = true, fixed_runs = true;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--slow-connections" && i + 1 < argc) {
      slow_connections = std::atoi(argv[++i]);
      continue;
    }
    if (a == "--idle-connections" && i + 1 < argc) {
      idle_connections = std::atoi(argv[++i]);
      continue;
    }
    if (a == "--only" && i + 1 < argc) {
      only = "," + std::string(argv[++i]) + ",";
      continue;
    }
    if (a == "--no-wrk") {
      wrk = false;
      continue;
    }
    if (a == "--no-fixed") {
      fixed_runs = false;
      continue;
    }
    if (a == "--duration" && i + 1 < argc)
      duration = argv[++i];
    else if (a == "--connections" && i + 1 < argc)
      connections = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--http-threads" && i + 1 < argc)
      http_threads = std::atoi(argv[++i]);
    else if (a == "--fixed-duration" && i + 1 < argc)
      fixed_duration = argv[++i];
    else if (a == "--cache-ttl" && i + 1 < argc)
      cache_ttl = argv[++i];
    else if (a == "--rates" && i + 1 < argc) {
      rates.clear();
      std::string list = argv[++i];
      for (std::size_t pos = 0; pos <= list.size();) {
        auto comma = list.find(',', pos);
        if (comma == std::string::npos) comma = list.size();
        if (comma > pos) rates.push_back(std::atof(list.substr(pos, comma - pos).c_str()));
        pos = comma + 1;
      }
    } else {
      std::cerr << "usage: gateway_bench [--duration 10s] [--connections N] [--threads N] [--http-threads N]"
                   " [--rates R1,R2] [--fixed-duration 5s] [--cache-ttl 5s] [--slow-connections N]"
                   " [--idle-connections M] [--only healthz,list,page2,list-nocache,page2-nocache,detail]"
                   " [--no-wrk] [--no-fixed]\n";
      return 2;
    }
  }
  log::init("gateway-bench", "warn");
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &nofile);
    (void)getrlimit(RLIMIT_NOFILE, &nofile);
  }
  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_") || k == "EARSHOT_AMQP_URL") env[k] = v;
  }
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  mysql.declare(spec);
  amqp.declare(spec);
  need(spec.load(env), "config");
  mysql.database = "earshot_bench";
  mysql.pool_size = http_threads;
  mysql.read_timeout = std::chrono::hours(1);
  storage::Database db(mysql);
  need(storage::Migrator(db, storage::embedded_migrations()).migrate(), "migrate");
  const auto total = need(db.execute("SELECT COUNT(*) FROM call_records"), "count").rows[0][0].as_int();
  if (total < 1'000'000) {
    std::cerr << fmt::format("gateway_bench: earshot_bench holds {} calls; run storage_bench --only list first\n",
                             total);
    return 1;
  }
  const auto tenant = *storage::TenantId::make("bench-list-00");
  const auto call_id =
      need(db.execute("SELECT id FROM call_records WHERE bid = ? ORDER BY id LIMIT 1", {storage::Value(tenant.bid())}),
           "call")
          .rows[0][0]
          .as_int();
  // A viewer of the business (created once; the password is only for this process).
  storage::MySqlUserRepository users(db);
  const std::string email = "bench-viewer@bench.test";
  const std::string password = "bench password";
  if (auto u = users.find_by_email(tenant, email); !u) {
    storage::User nu;
    nu.email = email;
    nu.role = storage::UserRole::kViewer;
    nu.password_hash = need(crypto::hash_password(password), "hash");
    need(users.create(tenant, nu), "user");
  } else {
    need(users.set_password_hash(tenant, u->id, need(crypto::hash_password(password), "hash")), "password");
  }

  auto& clock = SystemClock::instance();
  auto jwt = need(api::JwtCodec::make(std::string(48, 'b'), std::chrono::hours(1), clock), "jwt");
  auto keys = need(crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k"), "keys");
  storage::MySqlRepositories repos(db, keys);
  api::AuthService auth(repos.repos(), jwt, clock, std::chrono::hours(1));
  const auto session = need(auth.login(email, password, tenant.bid()), "login");
  queue::Publisher publisher(amqp, {});  // not started: the benchmarked routes publish nothing
  api::AmqpQueueControl queues(amqp, {}, publisher);
  Metrics metrics("gateway-bench", "0", "0");
  api::ListCache list_cache(clock, parse_ms(cache_ttl), 4096, &metrics);
  api::GatewayServices services{repos.repos(),          keys, clock, auth, queues, "/nonexistent", nullptr, &metrics,
                                api::openapi_document()};
  services.list_cache = &list_cache;
  api::Router router;
  api::add_all_routes(router, services);
  api::ServiceAuthenticator authenticator(auth);
  api::RateLimitOptions limits;
  limits.enabled = false;
  api::Dispatcher dispatcher(router, authenticator, nullptr, limits, clock, metrics);
  api::ApiSettings settings;
  settings.host = "127.0.0.1";
  settings.threads = http_threads;
  settings.max_body_bytes = 1 << 20;
  settings.read_timeout = std::chrono::seconds(10);
  settings.write_timeout = std::chrono::seconds(10);
  settings.header_timeout = std::chrono::seconds(10);
  // All the bench's clients come from 127.0.0.1.
  settings.max_connections = 1'000'000;
  settings.max_connections_per_address = 1'000'000;
  api::HttpServer http(settings, dispatcher, metrics);
  need(http.start(), "listen");
  const std::string base = fmt::format("http://127.0.0.1:{}", http.bound_port());

  std::cout << std::unitbuf;
  std::cout << fmt::format(
      "{} calls in earshot_bench; wrk -t{} -c{} -d{}; gateway {} threads, MariaDB pool {}; "
      "RLIMIT_NOFILE {}\n",
      total, threads, connections, duration, http_threads, mysql.pool_size, static_cast<long long>(nofile.rlim_cur));
  const std::string list_path = "/api/v1/calls?limit=50&city=Boston&status=analyzed";
  std::string page2 = list_path;
  {
    httplib::Client cli("127.0.0.1", http.bound_port());
    auto first = cli.Get(list_path, {{"Authorization", "Bearer " + session.access_token}});
    const auto body = nlohmann::json::parse(first ? first->body : std::string(), nullptr, false);
    if (body.is_object() && body.value("next_cursor", nlohmann::json()).is_string()) {
      page2 += "&cursor=" + httplib::detail::encode_query_param(body["next_cursor"].get<std::string>());
    }
  }
  struct Target {
    std::string key;
    std::string name;
    std::string path;
    bool cached = false;  // served through the list cache
  };
  std::vector<Target> targets;
  for (Target t : {Target{"healthz", "healthz", "/healthz", false},
                   Target{"list", "calls list (50 rows, city + status)", list_path, true},
                   Target{"page2", "calls list page 2 (cursor)", page2, true},
                   Target{"list-nocache", "calls list, cache off", list_path, false},
                   Target{"page2-nocache", "calls list page 2, cache off", page2, false},
                   Target{"detail", "call detail", fmt::format("/api/v1/calls/{}", call_id), false}}) {
    if (only.empty() || only.find("," + t.key + ",") != std::string::npos) targets.push_back(t);
  }
  // The routes read services.list_cache per request; it is switched between runs only.
  auto use_cache = [&](bool on) { services.list_cache = on ? &list_cache : nullptr; };
  if (wrk) std::cout << "wrk (closed loop; gateway CPU per request = this process's CPU / requests):\n";
  for (const auto& [key, name, path, cached] : targets) {
    if (!wrk) break;
    use_cache(cached);
    const double cpu_before = process_cpu_ms();
    const auto out = run(fmt::format("wrk -t{} -c{} -d{} --latency -H 'Authorization: Bearer {}' '{}{}' 2>&1", threads,
                                     connections, duration, session.access_token, base, path));
    const double cpu = process_cpu_ms() - cpu_before;
    const auto non2xx = grab(out, R"(Non-2xx or 3xx responses: (\d+))");
    const double requests = std::atof(grab(out, R"((\d+) requests in)").c_str());
    std::cout << fmt::format("{:<38} {:>9} req/s  p50 {:>8}  p99 {:>8}  CPU {:.3f} ms/request{}\n", name,
                             grab(out, R"(Requests/sec:\s+([\d.]+))"), grab(out, R"(50%\s+([\d.]+\w+))"),
                             grab(out, R"(99%\s+([\d.]+\w+))"), requests > 0 ? cpu / requests : 0.0,
                             non2xx == "?" ? "" : "  NON-2XX: " + non2xx);
  }
  std::unique_ptr<SlowClients> slow;
  if (fixed_runs && slow_connections + idle_connections > 0) {
    slow = std::make_unique<SlowClients>(http.bound_port(), slow_connections, idle_connections);
    std::cout << fmt::format("holding {} slow (half a request line) and {} idle connections open: {} open now\n",
                             slow_connections, idle_connections, slow->open_now());
  }
  const auto fixed = parse_ms(fixed_duration);
  if (fixed_runs)
    std::cout << fmt::format("fixed rate (open loop, {} connections, {} per rate; latency from the scheduled time):\n",
                             connections, fixed_duration);
  for (const auto& [key, name, path, cached] : targets) {
    if (!fixed_runs) break;
    use_cache(cached);
    for (double rate : rates) {
      const auto r = fixed_rate(http.bound_port(), path, session.access_token, rate, fixed, connections);
      std::cout << fmt::format(
          "{:<38} {:>6.0f}/s offered {:>9.1f} req/s  p50 {:>7.2f}ms  p99 {:>8.2f}ms  max {:>8.2f}ms{}{}\n", name, rate,
          r.achieved, r.p50_ms, r.p99_ms, r.max_ms, r.errors ? fmt::format("  ERRORS: {}", r.errors) : std::string(),
          r.unsent ? fmt::format("  SATURATED: {} not sent", r.unsent) : std::string());
    }
  }
  if (slow) {
    std::cout << fmt::format("slow/idle connections open at the end: {} (reopened after the server closed them: {})\n",
                             slow->open_now(), slow->reopened());
    slow.reset();
  }
  http.stop();
  return 0;
}

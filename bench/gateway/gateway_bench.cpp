// gateway_bench: wrk against the gateway's routes over the storage benchmark's data set
// (1,000,000 calls in 50 businesses, database `earshot_bench`; run `storage_bench --only list`
// first to create it). The gateway runs in this process on a free port with the production
// request pipeline (JWT auth, policies, JSON); rate limits are off so the figures measure the
// server, not the limiter. Routes: /healthz, the call list (50 rows, two filters) and a call's
// detail. Prints wrk's requests/s and latency percentiles for each.
//
// Usage: gateway_bench [--duration 10s] [--connections 32] [--threads 2] [--http-threads 32]
// Connection settings come from EARSHOT_MYSQL_* and EARSHOT_AMQP_URL.
#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>
#include <string>

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

template <class T>
T need(Result<T> r, const char* what) {
  if (!r) {
    std::cerr << fmt::format("gateway_bench: {}: {}\n", what, r.error().to_string());
    std::exit(1);
  }
  return std::move(*r);
}
void need(Status s, const char* what) {
  if (!s) {
    std::cerr << fmt::format("gateway_bench: {}: {}\n", what, s.error().to_string());
    std::exit(1);
  }
}

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

}  // namespace

int main(int argc, char** argv) {
  std::string duration = "10s";
  int connections = 32, threads = 2, http_threads = 32;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--duration" && i + 1 < argc) duration = argv[++i];
    else if (a == "--connections" && i + 1 < argc) connections = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--http-threads" && i + 1 < argc) http_threads = std::atoi(argv[++i]);
    else {
      std::cerr << "usage: gateway_bench [--duration 10s] [--connections N] [--threads N] [--http-threads N]\n";
      return 2;
    }
  }
  log::init("gateway-bench", "warn");
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
    std::cerr << fmt::format("gateway_bench: earshot_bench holds {} calls; run storage_bench --only list first\n", total);
    return 1;
  }
  const auto tenant = *storage::TenantId::make("bench-list-00");
  const auto call_id = need(db.execute("SELECT id FROM call_records WHERE bid = ? ORDER BY id LIMIT 1",
                                       {storage::Value(tenant.bid())}), "call").rows[0][0].as_int();
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
  api::AuthService auth(db, jwt, clock, std::chrono::hours(1));
  const auto session = need(auth.login(email, password, tenant.bid()), "login");
  auto keys = need(crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k"), "keys");
  queue::Publisher publisher(amqp, {});  // not started: the benchmarked routes publish nothing
  api::AmqpQueueControl queues(amqp, {}, publisher);
  Metrics metrics("gateway-bench", "0", "0");
  api::GatewayServices services{db, keys, clock, auth, queues, "/nonexistent", nullptr, &metrics,
                                api::openapi_document()};
  api::Router router;
  api::add_all_routes(router, services);
  struct Auth final : api::Authenticator {
    api::AuthService& a;
    explicit Auth(api::AuthService& x) : a(x) {}
    Result<api::Principal> bearer(std::string_view t) override { return a.authenticate_bearer(t); }
    Result<api::Principal> api_key(std::string_view k) override { return a.authenticate_api_key(k); }
  } authenticator(auth);
  api::RateLimitOptions limits;
  limits.enabled = false;
  api::Dispatcher dispatcher(router, authenticator, nullptr, limits, clock, metrics);
  api::ApiSettings settings;
  settings.host = "127.0.0.1";
  settings.threads = http_threads;
  settings.max_body_bytes = 1 << 20;
  settings.read_timeout = std::chrono::seconds(10);
  settings.write_timeout = std::chrono::seconds(10);
  api::HttpServer http(settings, dispatcher, metrics);
  need(http.start(), "listen");
  const std::string base = fmt::format("http://127.0.0.1:{}", http.bound_port());

  std::cout << std::unitbuf;
  std::cout << fmt::format("{} calls in earshot_bench; wrk -t{} -c{} -d{}; gateway {} worker threads\n", total,
                           threads, connections, duration, http_threads);
  const std::pair<std::string, std::string> targets[] = {
      {"healthz", "/healthz"},
      {"calls list (50 rows, city + status)", "/api/v1/calls?limit=50&city=Boston&status=analyzed"},
      {"call detail", fmt::format("/api/v1/calls/{}", call_id)}};
  for (const auto& [name, path] : targets) {
    const auto out = run(fmt::format("wrk -t{} -c{} -d{} --latency -H 'Authorization: Bearer {}' '{}{}' 2>&1",
                                     threads, connections, duration, session.access_token, base, path));
    const auto non2xx = grab(out, R"(Non-2xx or 3xx responses: (\d+))");
    std::cout << fmt::format("{:<38} {:>9} req/s  p50 {:>8}  p99 {:>8}{}\n", name,
                             grab(out, R"(Requests/sec:\s+([\d.]+))"), grab(out, R"(50%\s+([\d.]+\w+))"),
                             grab(out, R"(99%\s+([\d.]+\w+))"),
                             non2xx == "?" ? "" : "  NON-2XX: " + non2xx);
  }
  http.stop();
  return 0;
}

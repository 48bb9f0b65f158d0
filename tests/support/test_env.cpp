#include "test_env.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <thread>

namespace earshot::testing {
namespace {

std::string need(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name
                  << " is not set: run integration tests through scripts/test.sh, or start the "
                     "test services with `scripts/services.sh --instance test start` and "
                     "`eval \"$(scripts/services.sh --instance test env)\"`";
    return {};
  }
  return v;
}

}  // namespace

ServiceEndpoints endpoints() {
  ServiceEndpoints e;
  e.mysql_host = need("EARSHOT_MYSQL_HOST");
  const std::string port = need("EARSHOT_MYSQL_PORT");
  e.mysql_port = port.empty() ? 0 : std::stoi(port);
  e.mysql_user = need("EARSHOT_MYSQL_USER");
  e.mysql_password = need("EARSHOT_MYSQL_PASSWORD");
  e.mysql_database = need("EARSHOT_MYSQL_DATABASE");
  e.amqp_url = need("EARSHOT_AMQP_URL");
  e.redis_url = need("EARSHOT_REDIS_URL");
  e.prometheus_url = need("ES_PROMETHEUS_URL");
  e.rabbitmq_mgmt_url = need("ES_RABBITMQ_MGMT_URL");
  e.services_script = std::string(EARSHOT_SOURCE_DIR) + "/scripts/services.sh";
  return e;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds every) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= end) return cond();
    std::this_thread::sleep_for(every);
  }
}

std::string unique_suffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:012x}", rng() & 0xffffffffffffULL);
}

}  // namespace earshot::testing

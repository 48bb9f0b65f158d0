#pragma once
// Where the isolated test services are. scripts/test.sh starts them
// (scripts/services.sh --instance test start) and exports their addresses as the EARSHOT_*
// variables the binaries read; integration tests read the same variables. A missing
// variable fails the test with a message saying how to start the services: integration
// tests never skip silently.

#include <chrono>
#include <functional>
#include <string>

namespace earshot::testing {

struct ServiceEndpoints {
  std::string mysql_host;
  int mysql_port = 0;
  std::string mysql_user;
  std::string mysql_password;
  std::string mysql_database;
  std::string amqp_url;
  std::string redis_url;
  std::string prometheus_url;     // ES_PROMETHEUS_URL
  std::string rabbitmq_mgmt_url;  // ES_RABBITMQ_MGMT_URL
  std::string services_script;    // scripts/services.sh
};

// Reads the endpoints; calls ADD_FAILURE-style fatal failure through gtest if missing.
[[nodiscard]] ServiceEndpoints endpoints();

// Polls `cond` every `every` until it returns true or `deadline` passes; returns its last value.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds every = std::chrono::milliseconds(50));

// A random lower-case hex suffix for names that must not collide between test runs.
[[nodiscard]] std::string unique_suffix();

}  // namespace earshot::testing

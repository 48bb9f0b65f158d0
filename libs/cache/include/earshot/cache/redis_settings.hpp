#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "earshot/core/config.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/health.hpp"

namespace earshot::cache {

struct RedisSettings {
  std::string url;  // redis://[:password@]host:port/db
  std::chrono::milliseconds timeout{0};
  std::int64_t pool_size = 8;  // connections of a RedisClient, opened as they are needed

  // Declares redis_url (secret: may carry a password), redis_timeout and redis_pool_size.
  void declare(ConfigSpec& spec);
};

struct RedisEndpoint {
  std::string host;
  int port = 6379;
  std::string password;
  int db = 0;
};

[[nodiscard]] Result<RedisEndpoint> parse_redis_url(std::string_view url);

[[nodiscard]] std::unique_ptr<DependencyProbe> make_redis_probe(const RedisSettings& settings);

}  // namespace earshot::cache

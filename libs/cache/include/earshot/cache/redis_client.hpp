#pragma once
// A small thread-safe Redis client over hiredis: a fixed set of connections, each guarded by
// its own mutex, used round-robin. Every command has the settings' timeout (connect, read
// and write); a connection that failed is dropped and reopened on its next use, so a Redis
// restart costs the commands in flight, not the client.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/error.hpp"

namespace earshot::cache {

struct RedisReply {
  enum class Kind { kNil, kInteger, kString, kStatus, kArray };
  Kind kind = Kind::kNil;
  std::int64_t integer = 0;
  std::string str;  // kString and kStatus
  std::vector<RedisReply> elements;
};

class RedisClient {
 public:
  // Connects lazily, up to settings.pool_size connections (or `connections`).
  // kInvalidArgument for a malformed URL.
  [[nodiscard]] static Result<std::unique_ptr<RedisClient>> make(const RedisSettings& settings);
  [[nodiscard]] static Result<std::unique_ptr<RedisClient>> make(const RedisSettings& settings,
                                                                 std::size_t connections);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command. Errors: kUnavailable (cannot connect, connection lost, timed out),
  // kInvalidArgument (Redis answered with an error reply; its text is the message).
  [[nodiscard]] Result<RedisReply> command(const std::vector<std::string>& args);
  [[nodiscard]] Result<RedisReply> command(std::initializer_list<std::string_view> args);

  // EVALSHA of `script`, loading it with EVAL when the server does not know it yet.
  [[nodiscard]] Result<RedisReply> eval(const std::string& script, const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args);

 private:
  struct Impl;
  explicit RedisClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::cache

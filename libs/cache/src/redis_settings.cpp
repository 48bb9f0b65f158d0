#include "earshot/cache/redis_settings.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <charconv>

namespace earshot::cache {

void RedisSettings::declare(ConfigSpec& spec) {
  spec.add_string("redis_url", &url, "redis://127.0.0.1:6379/0", "Redis URL redis://[:password@]host:port/db.",
                  {.secret = true});
  spec.add_duration("redis_timeout", &timeout, std::chrono::seconds(2), std::chrono::milliseconds(50),
                    std::chrono::minutes(1), "Deadline of a Redis connect or command.");
  spec.add_int("redis_pool_size", &pool_size, 8, 1, 256,
               "Redis connections of the binary, opened as they are needed (a command holds one).");
}

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) {
    return make_error(ErrorCode::kInvalidArgument, "Redis URL must start with redis://");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.db);
      if (ec != std::errc() || ptr != db.data() + db.size() || ep.db < 0) {
        return make_error(ErrorCode::kInvalidArgument, "Redis URL has an invalid db number");
      }
    }
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    ep.password = std::string(colon == std::string_view::npos ? cred : cred.substr(colon + 1));
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc() || ptr != port.data() + port.size() || ep.port <= 0 || ep.port > 65535) {
      return make_error(ErrorCode::kInvalidArgument, "Redis URL has an invalid port");
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return make_error(ErrorCode::kInvalidArgument, "Redis URL has no host");
  ep.host = std::string(rest);
  return ep;
}

namespace {

class RedisProbe final : public DependencyProbe {
 public:
  explicit RedisProbe(RedisSettings s) : s_(std::move(s)) {}
  ~RedisProbe() override { close(); }

  std::string name() const override { return "redis"; }

  Status connect() override {
    close();
    auto ep = parse_redis_url(s_.url);
    if (!ep) return std::unexpected(ep.error());
    timeval tv{};
    tv.tv_sec = s_.timeout.count() / 1000;
    tv.tv_usec = (s_.timeout.count() % 1000) * 1000;
    ctx_ = redisConnectWithTimeout(ep->host.c_str(), ep->port, tv);
    if (ctx_ == nullptr || ctx_->err != 0) {
      std::string why = ctx_ != nullptr ? ctx_->errstr : "allocation failed";
      close();
      return make_error(ErrorCode::kUnavailable, fmt::format("redis {}:{}: {}", ep->host, ep->port, why));
    }
    redisSetTimeout(ctx_, tv);
    if (!ep->password.empty()) {
      if (auto st = command_ok("AUTH", ep->password); !st) {
        close();
        return st;
      }
    }
    return ping();
  }

  Status ping() override {
    if (ctx_ == nullptr) return make_error(ErrorCode::kUnavailable, "redis: not connected");
    auto* reply = static_cast<redisReply*>(redisCommand(ctx_, "PING"));
    if (reply == nullptr) {
      return make_error(ErrorCode::kUnavailable, fmt::format("redis: {}", ctx_->errstr));
    }
    const bool ok = reply->type == REDIS_REPLY_STATUS && std::string_view(reply->str) == "PONG";
    freeReplyObject(reply);
    if (!ok) return make_error(ErrorCode::kUnavailable, "redis: unexpected PING reply");
    return {};
  }

  void close() override {
    if (ctx_ != nullptr) {
      redisFree(ctx_);
      ctx_ = nullptr;
    }
  }

 private:
  Status command_ok(const char* cmd, const std::string& arg) {
    auto* reply = static_cast<redisReply*>(redisCommand(ctx_, "%s %b", cmd, arg.data(), arg.size()));
    if (reply == nullptr) {
      return make_error(ErrorCode::kUnavailable, fmt::format("redis: {}", ctx_->errstr));
    }
    const bool ok = reply->type != REDIS_REPLY_ERROR;
    freeReplyObject(reply);
    if (!ok) return make_error(ErrorCode::kUnauthenticated, fmt::format("redis: {} refused", cmd));
    return {};
  }

  RedisSettings s_;
  redisContext* ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<DependencyProbe> make_redis_probe(const RedisSettings& settings) {
  return std::make_unique<RedisProbe>(settings);
}

}  // namespace earshot::cache

#include "earshot/cache/redis_client.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <mutex>

namespace earshot::cache {
namespace {

struct Slot {
  std::mutex mu;
  redisContext* ctx = nullptr;  // guarded by mu; null until (re)connected
};

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.kind = RedisReply::Kind::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.kind = RedisReply::Kind::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = RedisReply::Kind::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = RedisReply::Kind::kArray;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

std::string sha1_hex(const std::string& text) {
  // SHA-1 is what Redis names scripts by; libsodium has no SHA-1, so compute it here.
  auto rol = [](std::uint32_t v, int n) { return (v << n) | (v >> (32 - n)); };
  std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string msg = text;
  const std::uint64_t bits = static_cast<std::uint64_t>(text.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<char>((bits >> (i * 8)) & 0xff));
  for (std::size_t off = 0; off < msg.size(); off += 64) {
    std::uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + off + static_cast<std::size_t>(i) * 4);
      w[i] = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
    }
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      std::uint32_t f = 0;
      std::uint32_t k = 0;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      const std::uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rol(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  return fmt::format("{:08x}{:08x}{:08x}{:08x}{:08x}", h[0], h[1], h[2], h[3], h[4]);
}

}  // namespace

struct RedisClient::Impl {
  RedisEndpoint endpoint;
  std::chrono::milliseconds timeout{0};
  std::vector<std::unique_ptr<Slot>> slots;
  std::atomic<std::size_t> next{0};

  ~Impl() {
    for (auto& s : slots) {
      if (s->ctx != nullptr) redisFree(s->ctx);
    }
  }

  // Requires s.mu held.
  Status connect(Slot& s) const {
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    redisContext* ctx = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, tv);
    if (ctx == nullptr || ctx->err != 0) {
      std::string why = ctx != nullptr ? ctx->errstr : "allocation failed";
      if (ctx != nullptr) redisFree(ctx);
      return make_error(ErrorCode::kUnavailable, fmt::format("redis {}:{}: {}", endpoint.host, endpoint.port, why));
    }
    redisSetTimeout(ctx, tv);
    s.ctx = ctx;
    auto setup = [&](const std::vector<std::string>& args) -> Status {
      auto r = run(s, args);
      if (!r) return std::unexpected(r.error());
      return {};
    };
    if (!endpoint.password.empty()) {
      if (auto st = setup({"AUTH", endpoint.password}); !st) return st;
    }
    if (endpoint.db != 0) {
      if (auto st = setup({"SELECT", std::to_string(endpoint.db)}); !st) return st;
    }
    return {};
  }

  // Requires s.mu held and s.ctx set. Drops the connection on transport failure.
  Result<RedisReply> run(Slot& s, const std::vector<std::string>& args) const {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r =
        static_cast<redisReply*>(redisCommandArgv(s.ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) {
      std::string why = s.ctx->errstr;
      redisFree(s.ctx);
      s.ctx = nullptr;
      return make_error(ErrorCode::kUnavailable, fmt::format("redis: {}", why));
    }
    if (r->type == REDIS_REPLY_ERROR) {
      std::string why(r->str, r->len);
      freeReplyObject(r);
      return make_error(ErrorCode::kInvalidArgument, fmt::format("redis: {}", why));
    }
    RedisReply out = convert(r);
    freeReplyObject(r);
    return out;
  }
};

RedisClient::RedisClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisClient::~RedisClient() = default;

Result<std::unique_ptr<RedisClient>> RedisClient::make(const RedisSettings& settings) {
  return make(settings, static_cast<std::size_t>(std::max<std::int64_t>(settings.pool_size, 1)));
}

Result<std::unique_ptr<RedisClient>> RedisClient::make(const RedisSettings& settings, std::size_t connections) {
  auto ep = parse_redis_url(settings.url);
  if (!ep) return std::unexpected(ep.error());
  auto impl = std::make_unique<Impl>();
  impl->endpoint = *ep;
  impl->timeout = settings.timeout.count() > 0 ? settings.timeout : std::chrono::seconds(2);
  for (std::size_t i = 0; i < std::max<std::size_t>(connections, 1); ++i) {
    impl->slots.push_back(std::make_unique<Slot>());
  }
  return std::unique_ptr<RedisClient>(new RedisClient(std::move(impl)));
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& args) {
  auto& slot = *impl_->slots[impl_->next.fetch_add(1) % impl_->slots.size()];
  std::lock_guard lock(slot.mu);
  if (slot.ctx == nullptr) {
    if (auto st = impl_->connect(slot); !st) {
      if (slot.ctx != nullptr) {
        redisFree(slot.ctx);
        slot.ctx = nullptr;
      }
      return std::unexpected(st.error());
    }
  }
  return impl_->run(slot, args);
}

Result<RedisReply> RedisClient::command(std::initializer_list<std::string_view> args) {
  std::vector<std::string> v;
  for (auto a : args) v.emplace_back(a);
  return command(v);
}

Result<RedisReply> RedisClient::eval(const std::string& script, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> v{"EVALSHA", sha1_hex(script), std::to_string(keys.size())};
  v.insert(v.end(), keys.begin(), keys.end());
  v.insert(v.end(), args.begin(), args.end());
  auto r = command(v);
  if (r || r.error().code != ErrorCode::kInvalidArgument || r.error().message.find("NOSCRIPT") == std::string::npos) {
    return r;
  }
  v[0] = "EVAL";
  v[1] = script;
  return command(v);
}

}  // namespace earshot::cache

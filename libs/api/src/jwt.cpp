#include "earshot/api/jwt.hpp"

#include <fmt/format.h>
#include <jwt.h>
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "earshot/core/string_hash.hpp"

namespace earshot::api {
namespace {

Error unauthenticated(std::string_view why) {
  return Error(ErrorCode::kUnauthenticated, std::string("invalid access token: ").append(why));
}

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buf >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buf << (6 - bits)) & 0x3f]);
  return out;
}

Result<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (char c : text) {
    const auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) {
      return make_error(ErrorCode::kInvalidArgument, "not base64url");
    }
    buf = (buf << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

// Verified tokens by their exact text, in shards so that threads rarely meet on a lock. A
// full shard first drops its expired tokens, then everything (a token dropped is simply
// verified again).
struct JwtCodec::Verified {
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kPerShard = kRememberedLimit / kShards;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, AccessClaims, StringHash, std::equal_to<>> tokens;
  };
  std::array<Shard, kShards> shards;

  Shard& shard_of(std::string_view token) { return shards[std::hash<std::string_view>{}(token) % kShards]; }

  // The remembered claims, or nothing; an expired token is forgotten here.
  std::optional<AccessClaims> find(std::string_view token, std::int64_t now) {
    auto& sh = shard_of(token);
    std::lock_guard lock(sh.mu);
    auto it = sh.tokens.find(token);  // no copy of the token for the lookup
    if (it == sh.tokens.end()) return std::nullopt;
    if (it->second.exp <= now) {
      sh.tokens.erase(it);
      return std::nullopt;
    }
    return it->second;
  }

  void remember(std::string_view token, const AccessClaims& claims, std::int64_t now) {
    auto& sh = shard_of(token);
    std::lock_guard lock(sh.mu);
    if (sh.tokens.size() >= kPerShard) {
      std::erase_if(sh.tokens, [now](const auto& kv) { return kv.second.exp <= now; });
      if (sh.tokens.size() >= kPerShard) sh.tokens.clear();
    }
    sh.tokens.emplace(std::string(token), claims);
  }

  std::size_t size() {
    std::size_t n = 0;
    for (auto& sh : shards) {
      std::lock_guard lock(sh.mu);
      n += sh.tokens.size();
    }
    return n;
  }
};

JwtCodec::JwtCodec(std::string key, std::chrono::seconds ttl, const Clock& clock)
    : key_(std::move(key)), ttl_(ttl), clock_(&clock), verified_(std::make_shared<Verified>()) {}

std::size_t JwtCodec::remembered() const {
  return verified_->size();
}

Result<JwtCodec> JwtCodec::make(std::string key, std::chrono::seconds ttl, const Clock& clock) {
  if (key.size() < kMinJwtKeyBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the JWT signing key must be at least {} bytes", kMinJwtKeyBytes));
  }
  if (ttl.count() <= 0) return make_error(ErrorCode::kInvalidArgument, "JWT TTL must be positive");
  return JwtCodec(std::move(key), ttl, clock);
}

Result<std::string> JwtCodec::issue(AccessClaims c) const {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  c.iat = now;
  c.exp = now + ttl_.count();
  unsigned char rnd[16];
  randombytes_buf(rnd, sizeof rnd);
  c.jti = base64url_encode(std::string_view(reinterpret_cast<const char*>(rnd), sizeof rnd));
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return make_error(ErrorCode::kInternal, "jwt_new failed");
  JwtPtr j(raw);
  const auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  if (jwt_set_alg(j.get(), JWT_ALG_HS256, key, static_cast<int>(key_.size())) != 0 ||
      jwt_add_grant(j.get(), "sub", c.sub.c_str()) != 0 || jwt_add_grant(j.get(), "role", c.role.c_str()) != 0 ||
      jwt_add_grant(j.get(), "jti", c.jti.c_str()) != 0 ||
      jwt_add_grant_int(j.get(), "iat", static_cast<long>(c.iat)) != 0 ||
      jwt_add_grant_int(j.get(), "exp", static_cast<long>(c.exp)) != 0 ||
      (!c.bid.empty() && jwt_add_grant(j.get(), "bid", c.bid.c_str()) != 0) ||
      (!c.sid.empty() && jwt_add_grant(j.get(), "sid", c.sid.c_str()) != 0)) {
    return make_error(ErrorCode::kInternal, "cannot build the access token");
  }
  char* out = jwt_encode_str(j.get());
  if (out == nullptr) return make_error(ErrorCode::kInternal, "cannot encode the access token");
  std::string token(out);
  std::free(out);  // NOLINT: libjwt 1.10 allocates with malloc
  return token;
}

Result<AccessClaims> JwtCodec::verify(std::string_view token) const {
  if (token.empty() || token.size() > 4096) return std::unexpected(unauthenticated("malformed"));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  if (auto known = verified_->find(token, now)) return *std::move(known);
  auto claims = verify_fully(token);
  if (claims) verified_->remember(token, *claims, now);
  return claims;
}

Result<AccessClaims> JwtCodec::verify_fully(std::string_view token) const {
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot1 == std::string_view::npos || dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos || dot2 + 1 >= token.size()) {
    return std::unexpected(unauthenticated("malformed"));
  }
  // Check the header ourselves before libjwt sees the token: only HS256 is acceptable.
  auto header_text = base64url_decode(token.substr(0, dot1));
  if (!header_text) return std::unexpected(unauthenticated("malformed header"));
  auto header = nlohmann::json::parse(*header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object() || !header.contains("alg") || !header["alg"].is_string() ||
      header["alg"].get<std::string>() != "HS256") {
    return std::unexpected(unauthenticated("algorithm must be HS256"));
  }
  jwt_t* raw = nullptr;
  const std::string tok(token);
  const auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  if (jwt_decode(&raw, tok.c_str(), key, static_cast<int>(key_.size())) != 0 || raw == nullptr) {
    if (raw != nullptr) jwt_free(raw);
    return std::unexpected(unauthenticated("bad signature"));
  }
  JwtPtr j(raw);
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256) {
    return std::unexpected(unauthenticated("algorithm must be HS256"));
  }
  // Claims: parse the verified payload as JSON so types are checked exactly.
  auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload_text) return std::unexpected(unauthenticated("malformed payload"));
  auto p = nlohmann::json::parse(*payload_text, nullptr, false);
  if (p.is_discarded() || !p.is_object()) return std::unexpected(unauthenticated("malformed payload"));
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = p.find(k);
    if (it == p.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto num = [&](const char* k) -> std::optional<std::int64_t> {
    auto it = p.find(k);
    if (it == p.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  AccessClaims c;
  auto exp = num("exp");
  if (!exp) return std::unexpected(unauthenticated("exp is required"));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  if (*exp <= now) return std::unexpected(unauthenticated("expired"));
  auto sub = str("sub");
  auto role = str("role");
  auto iat = num("iat");
  auto jti = str("jti");
  if (!sub || !role || !iat || !jti) return std::unexpected(unauthenticated("missing claims"));
  c.sub = *sub;
  c.role = *role;
  c.iat = *iat;
  c.exp = *exp;
  c.jti = *jti;
  c.bid = str("bid").value_or("");
  if (p.contains("sid")) {
    auto sid = str("sid");
    if (!sid || sid->empty() || sid->size() > 64) return std::unexpected(unauthenticated("bad sid"));
    c.sid = *sid;
  }
  return c;
}

}  // namespace earshot::api

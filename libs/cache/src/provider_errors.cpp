#include "earshot/cache/provider_errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

#include "earshot/core/log.hpp"

namespace earshot::cache {

namespace {

using nlohmann::json;

constexpr std::int64_t kHour = 3600;
constexpr int kBucketsRead = 25;  // the current hour and the 24 before it

// KEYS: counts hash, last hash, provider set. ARGV: member, field, last, ttl seconds, cap.
constexpr const char* kAdd = R"lua(
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then
  if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[5]) then return 0 end
  redis.call('SADD', KEYS[3], ARGV[1])
end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
return 1
)lua";

// KEYS: counts hash and last hash of each bucket, in turn. One array per key (HGETALL).
constexpr const char* kRead = R"lua(
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end
return out
)lua";

bool valid_bid(std::string_view bid) {
  if (bid.empty() || bid.size() > 64) return false;
  return std::all_of(bid.begin(), bid.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::string clean_provider(std::string_view provider) {
  std::string out(provider.substr(0, 64));
  for (auto& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == ':' || c == '/';
    if (!ok) c = '_';
  }
  return out.empty() ? std::string("unknown") : out;
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::int64_t hour_of(std::chrono::system_clock::time_point t) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return s >= 0 ? s / kHour : (s - kHour + 1) / kHour;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void cut_utf8(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
}

}  // namespace

bool is_provider_kind(std::string_view kind) {
  return kind == "stt" || kind == "llm" || kind == "embedding" || kind == "crm";
}

std::string clean_provider_message(std::string_view message, std::size_t max) {
  // Bounded work: a provider's error body can be long; what survives is at most `max` bytes.
  std::string s(message.substr(0, std::max<std::size_t>(max * 4, 1024)));
  for (auto& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  static const std::regex kUserinfo(R"(([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@]*@)");
  static const std::regex kAuth(R"((bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,})", std::regex::icase);
  static const std::regex kPairs(
      R"(((?:api[_\-]?key|access[_\-]?key(?:[_\-]?id)?|secret[_\-]?key|secret|client[_\-]?secret|access[_\-]?token|refresh[_\-]?token|token|password|passwd|pwd|authorization|signature|x-amz-signature|x-amz-credential|x-amz-security-token|credential|key)["']?\s*[=:]\s*["']?)[^\s&"',;}]+)",
      std::regex::icase);
  static const std::regex kOpenAiKey(R"(\bsk-[A-Za-z0-9_\-]{6,})");
  static const std::regex kAwsKeyId(R"(\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)");
  s = std::regex_replace(s, kUserinfo, "$1***@");
  s = std::regex_replace(s, kAuth, "$1 ***");
  s = std::regex_replace(s, kPairs, "$1***");
  s = std::regex_replace(s, kOpenAiKey, "sk-***");
  s = std::regex_replace(s, kAwsKeyId, "***");
  cut_utf8(s, max);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// ---- Redis store -----------------------------------------------------------------------

Result<bool> RedisProviderErrorStore::add(const std::string& bucket, const std::string& member,
                                          const std::string& field, const std::string& last, std::chrono::seconds ttl,
                                          std::size_t cap) {
  auto r =
      redis_.eval(kAdd, {bucket + ":n", bucket + ":l", bucket + ":p"},
                  {member, field, last, std::to_string(std::max<std::int64_t>(ttl.count(), 1)), std::to_string(cap)});
  if (!r) return std::unexpected(r.error());
  if (r->kind != RedisReply::Kind::kInteger)
    return make_error(ErrorCode::kInternal, "provider errors: unexpected reply");
  return r->integer == 1;
}

Result<std::vector<ProviderErrorStore::Bucket>> RedisProviderErrorStore::read(const std::vector<std::string>& buckets) {
  std::vector<std::string> keys;
  keys.reserve(buckets.size() * 2);
  for (const auto& b : buckets) {
    keys.push_back(b + ":n");
    keys.push_back(b + ":l");
  }
  auto r = redis_.eval(kRead, keys, {});
  if (!r) return std::unexpected(r.error());
  if (r->kind != RedisReply::Kind::kArray || r->elements.size() != keys.size()) {
    return make_error(ErrorCode::kInternal, "provider errors: unexpected reply");
  }
  std::vector<Bucket> out(buckets.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& pairs = r->elements[i].elements;
    auto& b = out[i / 2];
    for (std::size_t k = 0; k + 1 < pairs.size(); k += 2) {
      if (i % 2 == 0) {
        std::int64_t n = 0;
        try {
          n = std::stoll(pairs[k + 1].str);
        } catch (const std::exception&) {
          continue;
        }
        b.counts[pairs[k].str] = n;
      } else {
        b.last[pairs[k].str] = pairs[k + 1].str;
      }
    }
  }
  return out;
}

// ---- recorder --------------------------------------------------------------------------

ProviderErrorRecorder::ProviderErrorRecorder(ProviderErrorStore& store, const Clock& clock, Metrics* metrics,
                                             ProviderErrorOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  if (metrics != nullptr) {
    results_ = &metrics->counter("earshot_provider_errors_recorded_total",
                                 "Provider errors recorded for the pipeline status, by result "
                                 "(recorded, capped, dropped, failed).");
  }
  if (options_.background) thread_ = std::thread([this] { loop(); });
}

ProviderErrorRecorder::~ProviderErrorRecorder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProviderErrorRecorder::record(std::string_view bid, std::string_view kind, std::string_view provider, int status,
                                   std::string_view message) {
  if (!is_provider_failure(status) || status > 999 || !is_provider_kind(kind) || !valid_bid(bid)) return;
  Pending p{std::string(bid),
            std::string(kind),
            clean_provider(provider),
            clean_provider_message(message, options_.max_message),
            status,
            clock_.now()};
  if (!options_.background) {
    write(p);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (pending_.size() >= options_.max_pending || stopping_) {
      if (results_ != nullptr) results_->Add({{"result", "dropped"}}).Increment();
      return;
    }
    pending_.push_back(std::move(p));
  }
  cv_.notify_one();
}

void ProviderErrorRecorder::write(const Pending& p) {
  const auto bucket = fmt::format("{}{}:{}", options_.prefix, p.bid, hour_of(p.at));
  const auto member = p.kind + "|" + p.provider;
  const auto field = fmt::format("{}|{}", member, p.status);
  const auto last = json{{"at", unix_ms(p.at)}, {"m", p.message}}.dump();
  auto r = store_.add(bucket, member, field, last, options_.ttl, options_.max_providers);
  const char* result = "recorded";
  if (!r) {
    result = "failed";
    log::warn("provider error not recorded",
              {{"event_bid", p.bid}, {"kind", p.kind}, {"provider", p.provider}, {"error", r.error().to_string()}});
  } else if (!*r) {
    result = "capped";
  }
  if (results_ != nullptr) results_->Add({{"result", result}}).Increment();
}

void ProviderErrorRecorder::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (stopping_) {  // what is still queued is dropped: shutdown never waits on Redis
      if (results_ != nullptr && !pending_.empty()) {
        results_->Add({{"result", "dropped"}}).Increment(static_cast<double>(pending_.size()));
      }
      pending_.clear();
      idle_cv_.notify_all();
      return;
    }
    auto p = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    lock.unlock();
    write(p);
    lock.lock();
    writing_ = false;
    idle_cv_.notify_all();
  }
}

void ProviderErrorRecorder::flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return !options_.background || stopping_ || (pending_.empty() && !writing_); });
}

Result<std::vector<ProviderErrorSummary>> ProviderErrorRecorder::summary(std::string_view bid) const {
  if (!valid_bid(bid)) return make_error(ErrorCode::kInvalidArgument, "provider errors: bad business id");
  const auto now = clock_.now();
  const auto h = hour_of(now);
  const auto into_hour = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - h * kHour;
  const double outside = static_cast<double>(into_hour) / static_cast<double>(kHour);  // share of H-1 (H-24) gone
  std::vector<std::string> keys;
  keys.reserve(kBucketsRead);
  for (int i = 0; i < kBucketsRead; ++i) keys.push_back(fmt::format("{}{}:{}", options_.prefix, bid, h - i));
  auto buckets = store_.read(keys);
  if (!buckets) return std::unexpected(buckets.error());

  struct Acc {
    double n1 = 0;
    double n24 = 0;
    std::int64_t last_ms = -1;
    std::string last_message;
  };
  std::map<std::string, Acc> rows;
  for (int i = 0; i < static_cast<int>(buckets->size()); ++i) {
    const auto& b = (*buckets)[static_cast<std::size_t>(i)];
    const double weight = (i == 0) ? 1.0 : (i == 1 || i == 24) ? 1.0 - outside : 1.0;
    for (const auto& [field, n] : b.counts) {
      auto& a = rows[field];
      if (i <= 1) a.n1 += static_cast<double>(n) * weight;
      a.n24 += static_cast<double>(n) * (i == 24 ? weight : 1.0);
    }
    for (const auto& [field, value] : b.last) {
      auto j = json::parse(value, nullptr, false);
      if (!j.is_object() || !j.contains("at") || !j["at"].is_number_integer()) continue;
      auto& a = rows[field];
      const auto at = j["at"].get<std::int64_t>();
      if (at > a.last_ms) {
        a.last_ms = at;
        a.last_message = j.value("m", "");
      }
    }
  }
  std::vector<ProviderErrorSummary> out;
  for (const auto& [field, a] : rows) {
    const auto p1 = field.find('|');
    const auto p2 = field.rfind('|');
    if (p1 == std::string::npos || p2 == p1) continue;
    ProviderErrorSummary s;
    s.kind = field.substr(0, p1);
    s.provider = field.substr(p1 + 1, p2 - p1 - 1);
    try {
      s.status = std::stoi(field.substr(p2 + 1));
    } catch (const std::exception&) {
      continue;
    }
    s.count_1h = std::llround(a.n1);
    s.count_24h = std::llround(a.n24);
    if (s.count_24h <= 0) continue;
    if (a.last_ms >= 0) s.last_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(a.last_ms));
    s.last_message = a.last_message;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const ProviderErrorSummary& x, const ProviderErrorSummary& y) {
    if (x.count_1h != y.count_1h) return x.count_1h > y.count_1h;
    if (x.count_24h != y.count_24h) return x.count_24h > y.count_24h;
    return x.last_at > y.last_at;
  });
  return out;
}

}  // namespace earshot::cache

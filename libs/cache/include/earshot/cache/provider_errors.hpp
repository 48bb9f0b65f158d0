#pragma once
// Provider errors per business, shared by every process through Redis: each failed request
// to a speech, LLM, embedding or CRM provider made on a business's behalf (a transport error,
// status 0, or an HTTP status >= 400, 429 included) is counted per (business, kind,
// provider, status) in an hourly bucket, with the last error of each (status, time and a
// short message). What the gateway's pipeline status shows a business admin.
//
// Keys (one set per business and clock hour H = unix seconds / 3600, all expiring 25 h after
// their last write): "<prefix><bid>:<H>:n" (hash "kind|provider|status" -> count),
// "<prefix><bid>:<H>:l" (hash "kind|provider|status" -> {"at": ms, "m": message}) and
// "<prefix><bid>:<H>:p" (set of "kind|provider"; at most max_providers per bucket: a new
// provider past the cap is not recorded).
//
// Recording is best effort: it never fails or delays the provider call. With `background`
// (the default) record() only queues the error (at most max_pending; past that it is
// dropped) and a thread of the recorder writes it; a Redis failure is logged and counted in
// earshot_provider_errors_recorded_total{result="failed"}.
//
// Messages are cleaned before they are stored (clean_provider_message): credentials in URLs,
// bearer/basic credentials, key=value pairs naming keys, secrets, tokens, passwords or signatures,
// OpenAI-style "sk-" keys and AWS access key ids are replaced by "***", control characters by
// spaces, and the result is cut to max_message bytes (on a UTF-8 character boundary).
//
// Thread safety: every method may be called concurrently.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "earshot/cache/redis_client.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot::cache {

// The kinds of provider: "stt", "llm", "embedding", "crm".
[[nodiscard]] bool is_provider_kind(std::string_view kind);

// A request outcome worth recording: no response (status 0) or an HTTP status >= 400.
[[nodiscard]] constexpr bool is_provider_failure(int status) {
  return status == 0 || status >= 400;
}

// The message as stored: secrets scrubbed, control characters replaced, at most `max` bytes.
[[nodiscard]] std::string clean_provider_message(std::string_view message, std::size_t max = 300);

// Where the buckets live (RedisProviderErrorStore; tests use an in-memory one).
class ProviderErrorStore {
 public:
  struct Bucket {
    std::map<std::string, std::int64_t> counts;  // field -> count
    std::map<std::string, std::string> last;     // field -> last error (JSON)
  };
  virtual ~ProviderErrorStore() = default;
  // In the bucket whose keys start with `bucket`: counts[field] += 1 and last[field] = last;
  // `member` joins the bucket's provider set unless the set already holds `cap` others
  // (false then, and nothing is written). Every key of the bucket expires `ttl` later.
  [[nodiscard]] virtual Result<bool> add(const std::string& bucket, const std::string& member, const std::string& field,
                                         const std::string& last, std::chrono::seconds ttl, std::size_t cap) = 0;
  // The buckets named, in order (empty ones for keys that do not exist).
  [[nodiscard]] virtual Result<std::vector<Bucket>> read(const std::vector<std::string>& buckets) = 0;
};

class RedisProviderErrorStore final : public ProviderErrorStore {
 public:
  explicit RedisProviderErrorStore(RedisClient& redis) : redis_(redis) {}
  [[nodiscard]] Result<bool> add(const std::string& bucket, const std::string& member, const std::string& field,
                                 const std::string& last, std::chrono::seconds ttl, std::size_t cap) override;
  [[nodiscard]] Result<std::vector<Bucket>> read(const std::vector<std::string>& buckets) override;

 private:
  RedisClient& redis_;
};

struct ProviderErrorOptions {
  std::string prefix = "earshot:perr:";
  std::size_t max_providers = 20;  // distinct (kind, provider) per business per hourly bucket
  std::size_t max_message = 300;   // bytes of a stored message
  std::chrono::seconds ttl{std::chrono::hours(25)};
  bool background = true;          // false: record() writes before it returns (tests)
  std::size_t max_pending = 1000;  // queued errors (background only)
};

// One row of a business's summary.
struct ProviderErrorSummary {
  std::string kind;
  std::string provider;
  int status = 0;             // 0: no response (transport error)
  std::int64_t count_1h = 0;  // estimate, see ProviderErrorRecorder::summary
  std::int64_t count_24h = 0;
  std::chrono::system_clock::time_point last_at{};
  std::string last_message;
};

class ProviderErrorRecorder {
 public:
  // `metrics` may be null.
  ProviderErrorRecorder(ProviderErrorStore& store, const Clock& clock, Metrics* metrics,
                        ProviderErrorOptions options = {});
  ~ProviderErrorRecorder();
  ProviderErrorRecorder(const ProviderErrorRecorder&) = delete;
  ProviderErrorRecorder& operator=(const ProviderErrorRecorder&) = delete;

  // Records a failed request (is_provider_failure(status)); anything else, an unknown kind,
  // an empty or malformed bid (letters, digits, '-' and '_', at most 64) is ignored. A
  // provider name keeps letters, digits and . _ - : / (others become '_'), at most 64 bytes.
  void record(std::string_view bid, std::string_view kind, std::string_view provider, int status,
              std::string_view message);

  // The business's errors of the last 24 hours, by count_1h, then count_24h, descending.
  // Counts come from hourly buckets: count_1h is the current hour's plus the previous hour's
  // share still inside the last 60 minutes (its count scaled by that share, rounded), and
  // count_24h likewise over 24 hours. Errors: the store's (kUnavailable when Redis is down).
  [[nodiscard]] Result<std::vector<ProviderErrorSummary>> summary(std::string_view bid) const;

  // Waits until every queued error has been written (or dropped); for tests and shutdown.
  void flush();

 private:
  struct Pending {
    std::string bid, kind, provider, message;
    int status = 0;
    std::chrono::system_clock::time_point at;
  };
  void write(const Pending& p);
  void loop();

  ProviderErrorStore& store_;
  const Clock& clock_;
  ProviderErrorOptions options_;
  prometheus::Family<prometheus::Counter>* results_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> pending_;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace earshot::cache

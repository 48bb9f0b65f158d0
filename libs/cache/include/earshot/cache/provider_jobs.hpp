#pragma once
// The provider-side jobs of a call's transcription (Sarvam's batch jobs), kept across
// redeliveries: when the stt worker that started a job dies, the call's next delivery finds
// the job here and waits for its result instead of uploading the recording again and paying
// for a second job.
//
// One Redis hash per call, "<prefix><bid>:<call_id>", field "<provider>|<part>" (the part is
// the provider job's key: the whole call's transcript, a channel of it, its English
// rendering) -> the provider's job id. Every write sets the hash to expire `ttl` later (a
// provider keeps a job's result for a limited time; the default is a day). A business's
// calls are apart by the key; nothing is read across businesses.
//
// Thread safety: every method may be called concurrently.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "earshot/cache/redis_client.hpp"
#include "earshot/core/error.hpp"

namespace earshot::cache {

class ProviderJobStore {
 public:
  virtual ~ProviderJobStore() = default;
  // Field -> provider job id, for the call (empty when none was saved or they expired).
  [[nodiscard]] virtual Result<std::map<std::string, std::string>> load(std::string_view bid, std::int64_t call_id) = 0;
  [[nodiscard]] virtual Status save(std::string_view bid, std::int64_t call_id, const std::string& field,
                                    const std::string& job_id) = 0;
};

class RedisProviderJobStore final : public ProviderJobStore {
 public:
  explicit RedisProviderJobStore(RedisClient& redis, std::string prefix = "earshot:sttjobs:",
                                 std::chrono::seconds ttl = std::chrono::hours(24))
      : redis_(redis), prefix_(std::move(prefix)), ttl_(ttl) {}
  [[nodiscard]] Result<std::map<std::string, std::string>> load(std::string_view bid, std::int64_t call_id) override;
  [[nodiscard]] Status save(std::string_view bid, std::int64_t call_id, const std::string& field,
                            const std::string& job_id) override;
  [[nodiscard]] std::string key(std::string_view bid, std::int64_t call_id) const;

 private:
  RedisClient& redis_;
  std::string prefix_;
  std::chrono::seconds ttl_;
};

// In memory, for hermetic tests.
class InMemoryProviderJobStore final : public ProviderJobStore {
 public:
  [[nodiscard]] Result<std::map<std::string, std::string>> load(std::string_view bid, std::int64_t call_id) override {
    std::lock_guard l(mu_);
    auto it = calls_.find(key(bid, call_id));
    return it == calls_.end() ? std::map<std::string, std::string>{} : it->second;
  }
  [[nodiscard]] Status save(std::string_view bid, std::int64_t call_id, const std::string& field,
                            const std::string& job_id) override {
    std::lock_guard l(mu_);
    calls_[key(bid, call_id)][field] = job_id;
    return {};
  }

 private:
  static std::string key(std::string_view bid, std::int64_t call_id) {
    return std::string(bid) + ":" + std::to_string(call_id);
  }
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> calls_;
};

}  // namespace earshot::cache

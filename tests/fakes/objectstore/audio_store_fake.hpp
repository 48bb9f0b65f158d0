#pragma once
// An AudioStore held in memory (objectstore/audio_store.hpp's contract) for unit tests:
// put() stores bytes under a key and returns its "store://<key>" URI; owned_by() applies
// the one ownership rule (objectstore::key_owned_by) to the key of a store:// URI; read() is
// kNotFound for a missing object and kInvalidArgument above `max_bytes`. fail_next(error)
// makes the next read fail with it (an outage). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/objectstore/audio_store.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeAudioStore final : public objectstore::AudioStore {
 public:
  static constexpr std::string_view kScheme = "store://";

  std::string put(const std::string& key, std::vector<std::uint8_t> bytes) {
    std::lock_guard lock(mu_);
    auto uri = std::string(kScheme) + key;
    objects_[uri] = std::move(bytes);
    return uri;
  }

  [[nodiscard]] Status owned_by(std::string_view uri, std::string_view bid) const override {
    if (!uri.starts_with(kScheme)) return make_error(ErrorCode::kInvalidArgument, "not a store:// URI");
    return objectstore::key_owned_by(uri.substr(kScheme.size()), bid);
  }

  [[nodiscard]] Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t max_bytes) override {
    std::lock_guard lock(mu_);
    ++reads_;
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto it = objects_.find(std::string(uri));
    if (it == objects_.end()) return make_error(ErrorCode::kNotFound, "object " + std::string(uri) + " not found");
    if (it->second.size() > max_bytes) return make_error(ErrorCode::kInvalidArgument, "object is above the size limit");
    return it->second;
  }

  // ---- test hooks ----
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }
  [[nodiscard]] int reads() const {
    std::lock_guard lock(mu_);
    return reads_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::uint8_t>> objects_;
  int reads_ = 0;
  FailNext failure_;
};

}  // namespace earshot::testing

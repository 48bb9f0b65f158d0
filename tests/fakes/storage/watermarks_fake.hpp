#pragma once
// In-memory WatermarkRepository (storage/repositories.hpp): one position per (business,
// source). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "earshot/storage/repositories.hpp"

namespace earshot::testing {

class FakeWatermarkRepository final : public storage::WatermarkRepository {
 public:
  Result<std::optional<std::string>> get(const storage::TenantId& t, std::string_view source) override {
    std::lock_guard lock(mu_);
    auto it = marks_.find({t.bid(), std::string(source)});
    if (it == marks_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status put(const storage::TenantId& t, std::string_view source, std::string_view position) override {
    std::lock_guard lock(mu_);
    marks_[{t.bid(), std::string(source)}] = std::string(position);
    return {};
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::string> marks_;
};

}  // namespace earshot::testing

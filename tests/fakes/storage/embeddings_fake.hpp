#pragma once
// In-memory EmbeddingRepository (storage/repositories.hpp): kNotFound for a call that is not
// the tenant's (checked against the FakeCallRepository given, which also gives the call
// statuses calls_needing_embedding filters on). Every stored row gets a new id (ascending,
// as AUTO_INCREMENT): replacing a call's rows retires their ids, as in MariaDB. fail_next(e)
// makes the next re-embedding read or write fail. Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeEmbeddingRepository final : public storage::EmbeddingRepository {
 public:
  explicit FakeEmbeddingRepository(const FakeCallRepository& calls) : calls_(calls) {}

  Status replace(const storage::TenantId& t, storage::Id call_id,
                 const std::vector<storage::CallEmbedding>& rows) override {
    if (!calls_.exists(t, call_id)) return make_error(ErrorCode::kNotFound, "call not found");
    std::lock_guard lock(mu_);
    std::erase_if(rows_, [&](const auto& kv) { return kv.second.bid == t.bid() && kv.second.call_id == call_id; });
    for (const auto& e : rows) rows_.emplace(++next_id_, Stored{t.bid(), call_id, e});
    return {};
  }

  Result<std::vector<storage::CallEmbedding>> list_for_call(const storage::TenantId& t, storage::Id call_id) override {
    std::lock_guard lock(mu_);
    std::vector<storage::CallEmbedding> out;
    for (const auto& [id, s] : rows_) {
      if (s.bid == t.bid() && s.call_id == call_id) out.push_back(s.row);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.chunk_index < b.chunk_index; });
    return out;
  }

  Result<std::vector<storage::EmbeddingRow>> scan(const storage::TenantId& t, std::string_view model,
                                                  storage::Id after_id, int limit) override {
    if (limit < 1 || limit > 10000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
    std::lock_guard lock(mu_);
    std::vector<storage::EmbeddingRow> out;
    for (auto it = rows_.upper_bound(after_id); it != rows_.end(); ++it) {
      if (out.size() == static_cast<std::size_t>(limit)) break;
      if (it->second.bid == t.bid() && it->second.row.model == model)
        out.push_back(to_row(it->first, it->second, true));
    }
    return out;
  }

  Result<std::vector<storage::EmbeddingRow>> rows_of_call(const storage::TenantId& t, std::string_view model,
                                                          storage::Id call_id) override {
    std::lock_guard lock(mu_);
    std::vector<storage::EmbeddingRow> out;
    for (const auto& [id, s] : rows_) {
      if (s.bid == t.bid() && s.call_id == call_id && s.row.model == model) out.push_back(to_row(id, s, true));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.chunk_index < b.chunk_index; });
    return out;
  }

  Result<std::vector<storage::EmbeddingRow>> by_ids(const storage::TenantId& t,
                                                    std::span<const storage::Id> ids) override {
    if (ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 ids");
    std::lock_guard lock(mu_);
    std::vector<storage::EmbeddingRow> out;
    for (const storage::Id id : std::set<storage::Id>(ids.begin(), ids.end())) {
      auto it = rows_.find(id);
      if (it != rows_.end() && it->second.bid == t.bid()) out.push_back(to_row(id, it->second, false));
    }
    return out;
  }

  Result<std::vector<std::string>> models(const storage::TenantId& t) override {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (const auto& [id, s] : rows_) {
      if (s.bid == t.bid()) out.insert(s.row.model);
    }
    return std::vector<std::string>(out.begin(), out.end());
  }

  Result<std::vector<storage::StaleCallEmbeddings>> calls_needing_embedding(const storage::TenantId& t,
                                                                            std::string_view model,
                                                                            storage::Id after_call_id,
                                                                            int limit) override {
    if (limit < 1 || limit > 1000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..1000");
    std::map<storage::Id, std::string> stale;  // call id -> model of its whole-call vector
    {
      std::lock_guard lock(mu_);
      if (auto e = failure_.take()) return std::unexpected(*e);
      for (const auto& [id, s] : rows_) {
        if (s.bid == t.bid() && s.call_id > after_call_id && s.row.chunk_index == -1 && s.row.model != model) {
          stale.emplace(s.call_id, s.row.model);
        }
      }
    }
    std::vector<storage::StaleCallEmbeddings> out;
    for (const auto& [call_id, m] : stale) {
      const auto status = calls_.status_of(t, call_id);
      if (status != storage::CallStatus::kAnalyzed && status != storage::CallStatus::kNotified) continue;
      if (out.size() == static_cast<std::size_t>(limit)) break;
      out.push_back({call_id, m});
    }
    return out;
  }

  Result<bool> replace_if_unchanged(const storage::TenantId& t, storage::Id call_id,
                                    std::span<const storage::Id> expected,
                                    const std::vector<storage::CallEmbedding>& rows) override {
    if (!calls_.exists(t, call_id)) return false;
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::set<storage::Id> have;
    for (const auto& [id, s] : rows_) {
      if (s.bid == t.bid() && s.call_id == call_id) have.insert(id);
    }
    if (have != std::set<storage::Id>(expected.begin(), expected.end()) || have.size() != expected.size()) return false;
    std::erase_if(rows_, [&](const auto& kv) { return have.contains(kv.first); });
    for (const auto& e : rows) rows_.emplace(++next_id_, Stored{t.bid(), call_id, e});
    return true;
  }

  // ---- test hooks ----
  // The next call_needing_embedding or replace_if_unchanged answers `e` (a MariaDB outage).
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }

 private:
  struct Stored {
    std::string bid;
    storage::Id call_id = 0;
    storage::CallEmbedding row;
  };

  static storage::EmbeddingRow to_row(storage::Id id, const Stored& s, bool with_vector) {
    storage::EmbeddingRow r;
    r.id = id;
    r.call_id = s.call_id;
    r.chunk_index = s.row.chunk_index;
    r.start_ms = s.row.start_ms;
    r.end_ms = s.row.end_ms;
    r.text = s.row.text;
    if (with_vector) r.vector = s.row.vector;
    return r;
  }

  const FakeCallRepository& calls_;
  std::mutex mu_;
  std::map<storage::Id, Stored> rows_;
  storage::Id next_id_ = 0;
  FailNext failure_;
};

}  // namespace earshot::testing

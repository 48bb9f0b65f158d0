#pragma once
// NoteRepository held in memory (repositories.hpp's contract). With a CallRepository given,
// create() refuses (kNotFound) a call that is not the tenant's, as the database does;
// without one every call id is taken to exist. Thread-safe.

#include <mutex>

#include "fakes/storage/tenant_rows.hpp"

namespace earshot::testing {

class FakeNoteRepository final : public storage::NoteRepository {
 public:
  explicit FakeNoteRepository(storage::CallRepository* calls = nullptr) : calls_(calls) {}

  Result<storage::Id> create(const storage::TenantId& t, storage::Id call_id, std::optional<storage::Id> author_user_id,
                             std::string_view body) override {
    if (calls_ != nullptr) {
      auto c = calls_->get(t, call_id);
      if (!c) return std::unexpected(c.error());
    }
    std::lock_guard l(mu_);
    return rows_.add(t, storage::CallNote{0, call_id, author_user_id, std::string(body), storage::Timestamp{}});
  }
  Result<std::vector<storage::CallNote>> list_for_call(const storage::TenantId& t, storage::Id call_id) override {
    std::lock_guard l(mu_);
    return rows_.list(t, [&](const storage::CallNote& n) { return n.call_id == call_id; });
  }
  Result<bool> remove(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    return rows_.erase(t, id);
  }

 private:
  storage::CallRepository* calls_;
  std::mutex mu_;
  TenantRows<storage::CallNote> rows_;
};

}  // namespace earshot::testing

#pragma once
// NoteRepository held in memory (repositories.hpp's contract). With a CallRepository given,
// create() refuses (kNotFound) a call that is not the tenant's, as the database does;
// without one every call id is taken to exist. Thread-safe.

#include <mutex>

#include "fakes/storage/tenant_rows.hpp"

namespace earshot::storage::fakes {

class FakeNoteRepository final : public NoteRepository {
 public:
  explicit FakeNoteRepository(CallRepository* calls = nullptr) : calls_(calls) {}

  Result<Id> create(const TenantId& t, Id call_id, std::optional<Id> author_user_id, std::string_view body) override {
    if (calls_ != nullptr) {
      auto c = calls_->get(t, call_id);
      if (!c) return std::unexpected(c.error());
    }
    std::lock_guard l(mu_);
    return rows_.add(t, CallNote{0, call_id, author_user_id, std::string(body), Timestamp{}});
  }
  Result<std::vector<CallNote>> list_for_call(const TenantId& t, Id call_id) override {
    std::lock_guard l(mu_);
    return rows_.list(t, [&](const CallNote& n) { return n.call_id == call_id; });
  }
  Result<bool> remove(const TenantId& t, Id id) override {
    std::lock_guard l(mu_);
    return rows_.erase(t, id);
  }

 private:
  CallRepository* calls_;
  std::mutex mu_;
  TenantRows<CallNote> rows_;
};

}  // namespace earshot::storage::fakes

#pragma once
// NoteRepository held in memory (repositories.hpp's contract). With a CallRepository given,
// create() refuses (kNotFound) a call that is not the tenant's, as the database does;
// without one every call id is taken to exist. Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

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
    Row r{t.bid(), CallNote{++next_id_, call_id, author_user_id, std::string(body), Timestamp{}}};
    rows_[r.note.id] = r;
    return r.note.id;
  }
  Result<std::vector<CallNote>> list_for_call(const TenantId& t, Id call_id) override {
    std::lock_guard l(mu_);
    std::vector<CallNote> out;
    for (const auto& [id, r] : rows_) {
      if (r.bid == t.bid() && r.note.call_id == call_id) out.push_back(r.note);
    }
    return out;
  }
  Result<bool> remove(const TenantId& t, Id id) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.bid != t.bid()) return false;
    rows_.erase(it);
    return true;
  }

 private:
  struct Row {
    std::string bid;
    CallNote note;
  };
  CallRepository* calls_;
  std::mutex mu_;
  std::map<Id, Row> rows_;
  Id next_id_ = 0;
};

}  // namespace earshot::storage::fakes

#pragma once
// In-memory ChatRepository (storage/rag_repositories.hpp), for unit tests. Honours the
// interface's contract: a session is its user's (another user's, or another business's,
// behaves like a missing one), sessions listed newest first by keyset, appending touches
// the session, messages come back oldest first (the newest `limit`). JSON fields are not
// validated. Thread-safe. Timestamps come from the clock given, else from a counter.
//
// Test hook (not part of the interface): fail_next(error) makes the next call of any method
// fail with it.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/storage/rag_repositories.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeChatRepository final : public storage::ChatRepository {
 public:
  explicit FakeChatRepository(const Clock* clock = nullptr) : clock_(clock) {}

  Result<storage::Id> create_session(const storage::TenantId& t, storage::Id user_id, std::string_view title) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    Session s;
    s.bid = t.bid();
    s.session.id = ++next_session_;
    s.session.user_id = user_id;
    s.session.title = std::string(title.substr(0, 255));
    s.session.created_at = now();
    s.session.updated_at = s.session.created_at;
    sessions_.emplace(s.session.id, std::move(s));
    return next_session_;
  }

  Result<storage::ChatSession> get_session(const storage::TenantId& t, storage::Id user_id, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    const Session* s = find(t, user_id, id);
    if (s == nullptr) return make_error(ErrorCode::kNotFound, "chat session " + std::to_string(id) + " not found");
    return s->session;
  }

  Result<storage::ChatSessionPage> list_sessions(const storage::TenantId& t, storage::Id user_id, storage::Id before_id,
                                                 int limit) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (limit < 1 || limit > 500) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..500");
    storage::ChatSessionPage page;
    for (auto it = sessions_.rbegin(); it != sessions_.rend(); ++it) {
      const auto& s = it->second;
      if (s.bid != t.bid() || s.session.user_id != user_id || (before_id > 0 && s.session.id >= before_id)) continue;
      if (page.sessions.size() == static_cast<std::size_t>(limit)) {
        page.next_before_id = page.sessions.back().id;
        break;
      }
      page.sessions.push_back(s.session);
    }
    return page;
  }

  Result<storage::Id> append_message(const storage::TenantId& t, storage::Id user_id, storage::Id session_id,
                                     const storage::ChatMessageInput& m) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    Session* s = find(t, user_id, session_id);
    if (s == nullptr)
      return make_error(ErrorCode::kNotFound, "chat session " + std::to_string(session_id) + " not found");
    storage::ChatMessage msg;
    static_cast<storage::ChatMessageInput&>(msg) = m;
    msg.id = ++next_message_;
    msg.session_id = session_id;
    msg.created_at = now();
    s->session.updated_at = msg.created_at;
    s->messages.push_back(std::move(msg));
    return next_message_;
  }

  Result<std::vector<storage::ChatMessage>> messages(const storage::TenantId& t, storage::Id user_id,
                                                     storage::Id session_id, int limit) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (limit < 1 || limit > 1000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..1000");
    const Session* s = find(t, user_id, session_id);
    if (s == nullptr) return std::vector<storage::ChatMessage>{};
    const auto n = std::min(s->messages.size(), static_cast<std::size_t>(limit));
    return std::vector<storage::ChatMessage>(s->messages.end() - static_cast<std::ptrdiff_t>(n), s->messages.end());
  }

  // ---- test hooks ----
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }

 private:
  struct Session {
    std::string bid;
    storage::ChatSession session;
    std::vector<storage::ChatMessage> messages;
  };

  Session* find(const storage::TenantId& t, storage::Id user_id, storage::Id id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.bid != t.bid() || it->second.session.user_id != user_id) return nullptr;
    return &it->second;
  }

  storage::Timestamp now() {
    if (clock_ != nullptr) return storage::to_timestamp(clock_->now());
    ticks_ += 1;
    return storage::Timestamp(std::chrono::milliseconds(1'800'000'000'000 + ticks_));
  }

  const Clock* clock_;
  std::mutex mu_;
  std::map<storage::Id, Session> sessions_;
  storage::Id next_session_ = 0;
  storage::Id next_message_ = 0;
  std::int64_t ticks_ = 0;
  FailNext failure_;
};

}  // namespace earshot::testing

#pragma once
// In-memory CallRepository (storage/repositories.hpp), for unit tests. Honours the
// interface's contract: tenant scoping (another business's call behaves like a missing one),
// idempotent upserts on (bid, external_id) with sync_count, the guarded state machine, the
// keyset list (sort keys as in migration 0002: a missing sentiment or QA score sorts as
// -1000). Not modelled: the transcript text search (list with `text` answers
// kFailedPrecondition), and removing a call does not reach the derived rows other fakes hold.
// ids_matching's matched category reads what match_category() recorded (the category match
// fake does not tell this one).
// Thread-safe. Timestamps come from the clock given, else from a counter (1 ms per change).
//
// Test hooks (not part of the interface): fail_next(error) makes the next call of any method
// fail with it; exists() / set_scores() serve the other fakes of tests/fakes/storage.
// insert_pushed() hands a pushed call's transcript and note to the sinks set with
// set_pushed_sinks() (the transcript and note fakes, or a test's stand-ins); without them
// it refuses a transcript or a note (kFailedPrecondition). It is not atomic: a failing sink
// leaves the call written, so tests of atomicity use MariaDB.

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/storage/repositories.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeCallRepository final : public storage::CallRepository {
 public:
  explicit FakeCallRepository(const Clock* clock = nullptr) : clock_(clock) {}

  Result<storage::UpsertOutcome> upsert(const storage::TenantId& t, const storage::CallInput& in) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    return upsert_locked(t, in, true);
  }

  Status upsert_batch(const storage::TenantId& t, std::span<const storage::CallInput> in) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    for (const auto& c : in) {
      if (c.external_id.empty()) return make_error(ErrorCode::kInvalidArgument, "external_id is empty");
    }
    for (const auto& c : in) (void)upsert_locked(t, c, true);
    return {};
  }

  Result<storage::UpsertOutcome> insert_if_absent(const storage::TenantId& t, const storage::CallInput& in) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    return upsert_locked(t, in, false);
  }

  Result<storage::PushedOutcome> insert_pushed(const storage::TenantId& t, const storage::PushedCall& in) override {
    if ((in.transcript && !put_transcript_) || (!in.note.empty() && !put_note_)) {
      return make_error(ErrorCode::kFailedPrecondition, "FakeCallRepository: set_pushed_sinks() first");
    }
    storage::PushedOutcome out;
    std::int64_t attempts = 1;
    {
      std::lock_guard lock(mu_);
      if (auto e = failure_.take()) return std::unexpected(*e);
      auto up = upsert_locked(t, in.call, false);
      if (!up) return std::unexpected(up.error());
      out.id = up->id;
      out.created = up->created;
      if (!out.created) {
        if (!in.transcript) return out;
        const auto& rec = find(t, out.id)->record;
        if (!rec.audio_uri.empty() ||
            (rec.status != storage::CallStatus::kPending && rec.status != storage::CallStatus::kTranscribing)) {
          return out;
        }
        if (rec.status == storage::CallStatus::kTranscribing) attempts = 0;
        out.completed = true;
      }
    }
    if (in.transcript && (out.created || !has_transcript_(t, out.id))) {
      auto tr = *in.transcript;
      tr.call_id = out.id;
      if (auto st = put_transcript_(t, tr); !st) return std::unexpected(st.error());
    }
    if (!in.note.empty()) {
      if (auto st = put_note_(t, out.id, in.note); !st) return std::unexpected(st.error());
    }
    if (in.transcript) {
      std::lock_guard lock(mu_);
      if (auto* c = find(t, out.id)) {
        set_status(*c, storage::CallStatus::kTranscribed);
        c->record.attempts += attempts;
      }
    }
    return out;
  }

  Result<storage::CallRecord> get(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto* c = find(t, id);
    if (c == nullptr) return not_found(id);
    return c->record;
  }

  Result<storage::CallRecord> find_by_external_id(const storage::TenantId& t, std::string_view external_id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    for (auto& [id, c] : calls_) {
      if (c.bid == t.bid() && c.record.external_id == external_id) return c.record;
    }
    return make_error(ErrorCode::kNotFound, "call not found");
  }

  Result<bool> advance(const storage::TenantId& t, storage::Id id, storage::CallStatus from,
                       storage::CallStatus to) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (!storage::CallStateMachine::can_advance(from, to)) {
      return make_error(ErrorCode::kInvalidArgument, "not a legal transition");
    }
    auto* c = find(t, id);
    if (c == nullptr || c->record.status != from) return false;
    set_status(*c, to);
    if (storage::CallStateMachine::counts_attempt(to)) ++c->record.attempts;
    return true;
  }

  Result<bool> mark_failed(const storage::TenantId& t, storage::Id id, std::string_view stage,
                           std::string_view reason) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto* c = find(t, id);
    if (c == nullptr || c->record.status == storage::CallStatus::kFailed) return false;
    set_status(*c, storage::CallStatus::kFailed);
    c->record.failed_stage = std::string(stage);
    c->record.failed_reason = std::string(reason);
    return true;
  }

  Result<bool> reprocess(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto* c = find(t, id);
    if (c == nullptr || !storage::CallStateMachine::can_reprocess(c->record.status)) return false;
    set_status(*c, storage::CallStatus::kPending);
    c->record.failed_stage.clear();
    c->record.failed_reason.clear();
    c->record.attempts = 0;
    return true;
  }

  Result<storage::CallPage> list(const storage::TenantId& t, const storage::CallListQuery& q) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (q.limit < 1 || q.limit > 500) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..500");
    for (const auto& v : {q.qa_min, q.qa_max}) {
      if (v && !(*v >= 0.0 && *v <= 1.0))
        return make_error(ErrorCode::kInvalidArgument, "QA score bounds must be 0..1");
    }
    if (q.text) return make_error(ErrorCode::kFailedPrecondition, "FakeCallRepository does not search transcripts");
    std::optional<storage::CallCursor> after;
    if (!q.cursor.empty()) {
      auto cur = storage::decode_cursor(q.cursor);
      if (!cur) return std::unexpected(cur.error());
      if (cur->sort != q.sort || cur->order != q.order) {
        return make_error(ErrorCode::kInvalidArgument, "page cursor belongs to another sort order");
      }
      after = *cur;
    }
    const bool desc = q.order == storage::SortOrder::kDesc;
    std::vector<const storage::CallRecord*> rows;
    for (const auto& [id, c] : calls_) {
      if (c.bid == t.bid() && matches(c, q)) rows.push_back(&c.record);
    }
    auto key = [&](const storage::CallRecord& r) { return std::make_tuple(sort_key(r, q.sort), r.id); };
    std::sort(rows.begin(), rows.end(),
              [&](const auto* a, const auto* b) { return desc ? key(*b) < key(*a) : key(*a) < key(*b); });
    storage::CallPage page;
    for (const auto* r : rows) {
      if (after) {
        const auto cursor_key = std::make_tuple(cursor_value(*after), after->id);
        if (desc ? !(key(*r) < cursor_key) : !(cursor_key < key(*r))) continue;
      }
      if (page.calls.size() == static_cast<std::size_t>(q.limit)) {
        const auto& last = page.calls.back();
        storage::CallCursor c;
        c.sort = q.sort;
        c.order = q.order;
        if (q.sort == storage::CallSort::kSentiment || q.sort == storage::CallSort::kQaScore) {
          c.real_key = sort_key(last, q.sort);
        } else {
          c.int_key = static_cast<std::int64_t>(sort_key(last, q.sort));
        }
        c.id = last.id;
        page.next_cursor = storage::encode_cursor(c);
        break;
      }
      page.calls.push_back(*r);
    }
    return page;
  }

  Result<std::vector<storage::Id>> ids_matching(const storage::TenantId& t, const storage::CallFilter& f,
                                                int limit) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (limit < 1 || limit > 100000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..100000");
    if (f.call_ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 call ids");
    std::vector<const Row*> rows;
    for (const auto& [id, c] : calls_) {
      if (c.bid != t.bid()) continue;
      const auto& r = c.record;
      if (f.human_agent_id && r.human_agent_id != f.human_agent_id) continue;
      if (f.started_from && r.started_at < *f.started_from) continue;
      if (f.started_to && !(r.started_at < *f.started_to)) continue;
      if (f.status && r.status != *f.status) continue;
      if (f.category && r.issue_category != *f.category) continue;
      if (f.matched_category_id && !c.matched_categories.contains(*f.matched_category_id)) continue;
      if (!f.call_ids.empty() && std::find(f.call_ids.begin(), f.call_ids.end(), id) == f.call_ids.end()) continue;
      rows.push_back(&c);
    }
    std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) {
      return std::make_tuple(b->record.started_at, b->record.id) < std::make_tuple(a->record.started_at, a->record.id);
    });
    std::vector<storage::Id> out;
    for (const Row* r : rows) {
      if (out.size() == static_cast<std::size_t>(limit)) break;
      out.push_back(r->record.id);
    }
    return out;
  }

  Result<bool> remove(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (find(t, id) == nullptr) return false;
    calls_.erase(id);
    return true;
  }

  Result<std::vector<storage::PurgeCandidate>> purge_candidates(const storage::TenantId& t, storage::Timestamp cutoff,
                                                                int limit) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (limit < 1 || limit > 10000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
    std::vector<std::pair<storage::Timestamp, storage::PurgeCandidate>> found;
    for (const auto& [id, c] : calls_) {
      if (c.bid == t.bid() && c.record.started_at < cutoff) {
        found.push_back({c.record.started_at, {.id = id, .audio_uri = c.record.audio_uri, .redacted_audio_uri = {}}});
      }
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second.id < b.second.id;
    });
    std::vector<storage::PurgeCandidate> out;
    for (auto& f : found) {
      if (static_cast<int>(out.size()) == limit) break;
      out.push_back(std::move(f.second));
    }
    return out;
  }

  Result<std::int64_t> remove_many(const storage::TenantId& t, std::span<const storage::Id> ids) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::int64_t n = 0;
    for (auto id : ids) {
      if (find(t, id) != nullptr) {
        calls_.erase(id);
        ++n;
      }
    }
    return n;
  }

  Result<std::int64_t> hash_finished_phones(const storage::TenantId& t, int limit) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::int64_t n = 0;
    for (auto& [id, c] : calls_) {
      if (n == limit) break;
      if (c.bid != t.bid() || c.record.status != storage::CallStatus::kNotified || c.record.customer_phone_hashed ||
          c.record.customer_phone.empty()) {
        continue;
      }
      c.record.customer_phone = "sha256:" + c.record.customer_phone;
      c.record.customer_phone_hashed = true;
      ++n;
    }
    return n;
  }

  // Stands in for "sha256:<hex>": the fake marks the phone hashed without hashing it.
  Result<bool> hash_customer_phone(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto* c = find(t, id);
    if (c == nullptr || c->record.customer_phone_hashed) return false;
    c->record.customer_phone = "sha256:" + c->record.customer_phone;
    c->record.customer_phone_hashed = true;
    return true;
  }

  Result<std::map<storage::CallStatus, std::int64_t>> count_by_status(const storage::TenantId& t) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::map<storage::CallStatus, std::int64_t> out;
    for (const auto& [id, c] : calls_) {
      if (c.bid == t.bid()) ++out[c.record.status];
    }
    return out;
  }

  Result<std::vector<storage::CallSyncState>> sync_states(const storage::TenantId& t,
                                                          std::span<const std::string> external_ids) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::vector<storage::CallSyncState> out;
    for (const auto& [id, c] : calls_) {
      if (c.bid != t.bid()) continue;
      if (std::find(external_ids.begin(), external_ids.end(), c.record.external_id) == external_ids.end()) continue;
      out.push_back(storage::CallSyncState{id, c.record.external_id, c.record.status, c.record.audio_uri,
                                           c.record.language, c.sync_count});
    }
    return out;
  }

  // ---- test hooks ----
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }
  // Where insert_pushed() writes a pushed call's transcript and note (see the head comment).
  void set_pushed_sinks(std::function<Status(const storage::TenantId&, const storage::Transcript&)> put_transcript,
                        std::function<bool(const storage::TenantId&, storage::Id)> has_transcript,
                        std::function<Status(const storage::TenantId&, storage::Id, const std::string&)> put_note) {
    put_transcript_ = std::move(put_transcript);
    has_transcript_ = std::move(has_transcript);
    put_note_ = std::move(put_note);
  }
  [[nodiscard]] bool exists(const storage::TenantId& t, storage::Id id) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(id);
    return it != calls_.end() && it->second.bid == t.bid();
  }
  // The tenant's call's status (none for another business's or a missing call).
  [[nodiscard]] std::optional<storage::CallStatus> status_of(const storage::TenantId& t, storage::Id id) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second.bid != t.bid()) return std::nullopt;
    return it->second.record.status;
  }
  // What MetricsRepository::put and AnalysisRepository::record write on the call row.
  void set_scores(const storage::TenantId& t, storage::Id id, std::optional<double> talk_ratio,
                  std::optional<double> sentiment) {
    std::lock_guard lock(mu_);
    if (auto* c = find(t, id)) {
      c->record.agent_talk_ratio = talk_ratio;
      c->record.customer_sentiment = sentiment;
    }
  }
  void set_qa_score(const storage::TenantId& t, storage::Id id, std::optional<double> qa) {
    std::lock_guard lock(mu_);
    if (auto* c = find(t, id)) c->record.qa_score = qa;
  }
  // The call matched rule category `category_id` (what CategoryMatchRepository::replace
  // records), for ids_matching.
  void match_category(const storage::TenantId& t, storage::Id id, storage::Id category_id) {
    std::lock_guard lock(mu_);
    if (auto* c = find(t, id)) c->matched_categories.insert(category_id);
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

 private:
  struct Row {
    std::string bid;
    storage::CallRecord record;
    std::int64_t sync_count = 1;
    std::set<storage::Id> matched_categories;
  };

  static std::unexpected<Error> not_found(storage::Id id) {
    return std::unexpected(Error(ErrorCode::kNotFound, "call " + std::to_string(id) + " not found"));
  }

  std::function<Status(const storage::TenantId&, const storage::Transcript&)> put_transcript_;
  std::function<bool(const storage::TenantId&, storage::Id)> has_transcript_;
  std::function<Status(const storage::TenantId&, storage::Id, const std::string&)> put_note_;

  storage::Timestamp now() {
    if (clock_ != nullptr) return storage::to_timestamp(clock_->now());
    ticks_ += 1;
    return storage::Timestamp(std::chrono::milliseconds(1'800'000'000'000 + ticks_));
  }

  Row* find(const storage::TenantId& t, storage::Id id) {
    auto it = calls_.find(id);
    return it != calls_.end() && it->second.bid == t.bid() ? &it->second : nullptr;
  }

  void set_status(Row& c, storage::CallStatus s) {
    c.record.status = s;
    c.record.status_changed_at = now();
  }

  Result<storage::UpsertOutcome> upsert_locked(const storage::TenantId& t, const storage::CallInput& in,
                                               bool update_fields) {
    if (in.external_id.empty()) return make_error(ErrorCode::kInvalidArgument, "external_id is empty");
    for (auto& [id, c] : calls_) {
      if (c.bid != t.bid() || c.record.external_id != in.external_id) continue;
      ++c.sync_count;
      if (update_fields) {
        // Descriptive fields change; status, derived data and a hashed phone stay.
        const auto phone = c.record.customer_phone;
        static_cast<storage::CallInput&>(c.record) = in;
        if (c.record.customer_phone_hashed) c.record.customer_phone = phone;
      }
      return storage::UpsertOutcome{id, false};
    }
    const auto id = ++next_id_;
    Row row;
    row.bid = t.bid();
    static_cast<storage::CallInput&>(row.record) = in;
    row.record.id = id;
    row.record.created_at = now();
    row.record.status_changed_at = row.record.created_at;
    calls_.emplace(id, std::move(row));
    return storage::UpsertOutcome{id, true};
  }

  static double sort_key(const storage::CallRecord& r, storage::CallSort s) {
    switch (s) {
      case storage::CallSort::kStartedAt:
        return static_cast<double>(r.started_at.time_since_epoch().count());
      case storage::CallSort::kDuration:
        return static_cast<double>(r.duration_ms);
      case storage::CallSort::kSentiment:
        return r.customer_sentiment.value_or(-1000);
      case storage::CallSort::kQaScore:
        return r.qa_score.value_or(-1000);
    }
    return 0;
  }

  static double cursor_value(const storage::CallCursor& c) {
    return c.sort == storage::CallSort::kSentiment || c.sort == storage::CallSort::kQaScore
               ? c.real_key
               : static_cast<double>(c.int_key);
  }

  static bool in_range(const std::optional<double>& v, const std::optional<double>& lo,
                       const std::optional<double>& hi) {
    if (!lo && !hi) return true;
    if (!v) return false;
    return (!lo || *v >= *lo) && (!hi || *v <= *hi);
  }

  static bool matches(const Row& row, const storage::CallListQuery& q) {
    const storage::CallRecord& r = row.record;
    if (q.matched_category_id && !row.matched_categories.contains(*q.matched_category_id)) return false;
    if (q.direction && r.direction != *q.direction) return false;
    if (!in_range(r.qa_score, q.qa_min, q.qa_max)) return false;
    if (q.human_agent_id && r.human_agent_id != q.human_agent_id) return false;
    if (q.started_from && r.started_at < *q.started_from) return false;
    if (q.started_to && !(r.started_at < *q.started_to)) return false;
    if (!in_range(r.customer_sentiment, q.sentiment_min, q.sentiment_max)) return false;
    if (!in_range(r.agent_talk_ratio, q.talk_ratio_min, q.talk_ratio_max)) return false;
    if (q.status && r.status != *q.status) return false;
    if (q.category && r.issue_category != *q.category) return false;
    if (q.language && r.language != *q.language) return false;
    if (q.city && r.city != *q.city) return false;
    // The fake's hash is "sha256:" + the number (hash_customer_phone above).
    if (q.customer_phone && r.customer_phone != *q.customer_phone &&
        r.customer_phone != "sha256:" + *q.customer_phone) {
      return false;
    }
    return true;
  }

  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<storage::Id, Row> calls_;
  storage::Id next_id_ = 0;
  std::int64_t ticks_ = 0;
  FailNext failure_;
};

}  // namespace earshot::testing

#pragma once
// Calls: the call records, their pipeline status (call_state.hpp) and the keyset-paged
// call list (cursor.hpp). Contract (tenant scoping, errors): repository_common.hpp.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/storage/call_state.hpp"
#include "earshot/storage/cursor.hpp"
#include "earshot/storage/repository_common.hpp"
#include "earshot/storage/transcript_repository.hpp"

namespace earshot::storage {

enum class CallDirection { kInbound, kOutbound, kUnknown };

struct CallInput {
  std::string external_id;
  std::optional<Id> human_agent_id;
  std::string customer_phone;  // E.164 (normalize_phone_e164)
  std::string customer_name;
  CallDirection direction = CallDirection::kUnknown;
  std::string city;
  std::string issue_category;
  std::string call_context;
  Timestamp started_at{};
  std::int64_t duration_ms = 0;
  std::string audio_uri;
  int channels = 1;
  std::string language;
  std::string metadata_json = "{}";
};

struct CallRecord : CallInput {
  Id id = 0;
  CallStatus status = CallStatus::kPending;
  std::string failed_stage;
  std::string failed_reason;
  std::int64_t attempts = 0;
  bool customer_phone_hashed = false;
  std::optional<double> agent_talk_ratio;
  std::optional<double> customer_sentiment;
  std::optional<double> qa_score;
  Timestamp status_changed_at{};
  Timestamp created_at{};
};

struct UpsertOutcome {
  Id id = 0;
  bool created = false;  // false: the call existed and its fields were updated
};

// A call pushed to the platform (upload API, telephony callback) with what it brings.
struct PushedCall {
  CallInput call;
  std::string note;                      // an analyst note for the call; empty: none
  std::optional<Transcript> transcript;  // a pushed transcript (its call_id is ignored)
};

struct PushedOutcome {
  Id id = 0;
  bool created = false;    // this push created the call
  bool completed = false;  // an existing text call left incomplete was completed (insert_pushed)
};

struct CallListQuery {
  std::optional<Id> human_agent_id;
  std::optional<Timestamp> started_from;  // inclusive
  std::optional<Timestamp> started_to;    // exclusive
  std::optional<double> sentiment_min;    // customer sentiment, inclusive
  std::optional<double> sentiment_max;
  std::optional<double> talk_ratio_min;  // agent talk ratio, inclusive
  std::optional<double> talk_ratio_max;
  std::optional<CallStatus> status;
  std::optional<std::string> category;  // issue category
  std::optional<std::string> language;
  std::optional<std::string> city;
  std::optional<std::string> text;  // transcript must contain every word
  // `text` is matched against the redacted transcript (a caller without pii:read); calls not
  // redacted yet then never match.
  bool text_redacted = false;
  std::optional<CallDirection> direction;
  // QA score, inclusive, 0..1 (the scale analyze stores; else kInvalidArgument); a call
  // not scored yet matches neither bound.
  std::optional<double> qa_min;
  std::optional<double> qa_max;
  std::optional<Id> matched_category_id;  // a rule category the call matched (this business's)
  // The customer's number as stored (E.164): matches the clear number and its hash, so calls
  // whose phone was hashed after analysis are still found by the number.
  std::optional<std::string> customer_phone;
  CallSort sort = CallSort::kStartedAt;
  SortOrder order = SortOrder::kDesc;
  int limit = 50;      // 1..500
  std::string cursor;  // next_cursor of the previous page, or empty
};

// Which calls a search may draw from: every set field must match (the call list's filters
// of the same names, plus an explicit set of calls and a matched rule category).
struct CallFilter {
  std::optional<Timestamp> started_from;  // inclusive
  std::optional<Timestamp> started_to;    // exclusive
  std::optional<Id> human_agent_id;
  std::optional<CallStatus> status;
  std::optional<std::string> category;    // issue category, as CallListQuery::category
  std::optional<Id> matched_category_id;  // a category (rule set) the call matched
  std::vector<Id> call_ids;               // only these calls (empty: any)
};

// A call retention is about to delete.
struct PurgeCandidate {
  Id id = 0;
  std::string audio_uri;           // empty when the call has no recording
  std::string redacted_audio_uri;  // the recording's redacted copy (transcripts); empty: none
};

struct CallPage {
  std::vector<CallRecord> calls;
  std::string next_cursor;  // empty on the last page
};

struct CallSyncState {
  Id id = 0;
  std::string external_id;
  CallStatus status = CallStatus::kPending;
  std::string audio_uri;
  std::string language;
  // Upserts seen: 1 when created, +1 per later upsert / upsert_batch / insert_if_absent /
  // insert_pushed of the same external id. A call an upsert created is one still at 1 right after it.
  std::int64_t sync_count = 1;
};

class CallRepository {
 public:
  virtual ~CallRepository() = default;
  // Idempotent on (bid, external_id): a re-synced call updates its descriptive fields and
  // keeps its status, derived data and (if already hashed) its hashed phone.
  [[nodiscard]] virtual Result<UpsertOutcome> upsert(const TenantId& t, const CallInput& in) = 0;
  // The same for many calls: multi-row INSERT ... ON DUPLICATE KEY UPDATE in one
  // transaction (chunks of 1000 rows).
  [[nodiscard]] virtual Status upsert_batch(const TenantId& t, std::span<const CallInput> in) = 0;
  // Creates the call unless (bid, external_id) exists; an existing call is left as it is
  // (only its sync_count grows) and returned with created = false. Pushed uploads use it.
  [[nodiscard]] virtual Result<UpsertOutcome> insert_if_absent(const TenantId& t, const CallInput& in) = 0;
  // A pushed call in ONE transaction: the call (as insert_if_absent), its note and, with a
  // transcript, the transcript and the call created straight in `transcribed` (one attempt
  // counted, as pending -> transcribing -> transcribed counts). A crash or a failed write
  // leaves nothing. An existing call is left as it is (created = false), except a text call
  // (no recording) still `pending` or `transcribing`, which only an interrupted push leaves
  // behind: given a transcript, it is completed the same way in the same transaction (its
  // transcript written unless it has one, the note unless the call has that note already,
  // moved to `transcribed`) and `completed` is set.
  [[nodiscard]] virtual Result<PushedOutcome> insert_pushed(const TenantId& t, const PushedCall& in) = 0;
  [[nodiscard]] virtual Result<CallRecord> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<CallRecord> find_by_external_id(const TenantId& t, std::string_view external_id) = 0;
  // Guarded step along the pipeline (CallStateMachine::can_advance(from, to), else
  // kInvalidArgument). False when the call is not (any more) in `from`.
  [[nodiscard]] virtual Result<bool> advance(const TenantId& t, Id id, CallStatus from, CallStatus to) = 0;
  // Any state but failed -> failed, recording the stage and reason.
  [[nodiscard]] virtual Result<bool> mark_failed(const TenantId& t, Id id, std::string_view stage,
                                                 std::string_view reason) = 0;
  // analyzed | notified | failed -> pending, clearing the failure and the attempt count.
  [[nodiscard]] virtual Result<bool> reprocess(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<CallPage> list(const TenantId& t, const CallListQuery& q) = 0;
  // The ids of the business's calls matching `f`, newest first (start time, then id), at
  // most `limit` (1..100000; ask for one more than you can use to know whether there were
  // more). At most 1000 explicit call ids (else kInvalidArgument).
  [[nodiscard]] virtual Result<std::vector<Id>> ids_matching(const TenantId& t, const CallFilter& f, int limit) = 0;
  // Deletes the call and everything derived from it (transcript, metrics, analyses, events,
  // notes, escalations, category matches, embeddings, and the notification deliveries that
  // quote it with their attempts) in one transaction. False when absent. The recording in
  // the object store is the caller's to delete first.
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
  // Retention, step 1: up to `limit` (1..10000) of the business's calls started before
  // `cutoff`, oldest first, with their recording URIs (the caller deletes those objects).
  [[nodiscard]] virtual Result<std::vector<PurgeCandidate>> purge_candidates(const TenantId& t, Timestamp cutoff,
                                                                             int limit) = 0;
  // Retention, step 2: deletes these calls (at most 10000, the business's own; others are
  // ignored) with everything `remove` deletes, in one transaction. Returns how many went.
  [[nodiscard]] virtual Result<std::int64_t> remove_many(const TenantId& t, std::span<const Id> ids) = 0;
  // Replaces the customer phone by "sha256:<hex>" of it (idempotent). False when absent
  // or already hashed.
  [[nodiscard]] virtual Result<bool> hash_customer_phone(const TenantId& t, Id id) = 0;
  // Hashes the phones of up to `limit` (1..10000) calls the pipeline is done with (status
  // notified) and that still hold a clear number. Returns how many were hashed.
  [[nodiscard]] virtual Result<std::int64_t> hash_finished_phones(const TenantId& t, int limit) = 0;
  // The business's calls per status (statuses without calls absent).
  [[nodiscard]] virtual Result<std::map<CallStatus, std::int64_t>> count_by_status(const TenantId& t) = 0;
  // The state of the tenant's calls with these external ids (one index read; missing ones
  // absent, in no particular order). A sync reads it back after upsert_batch.
  [[nodiscard]] virtual Result<std::vector<CallSyncState>> sync_states(const TenantId& t,
                                                                       std::span<const std::string> external_ids) = 0;
};

}  // namespace earshot::storage

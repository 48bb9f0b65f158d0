// POST /api/v1/calls/{id}/reprocess and POST /api/v1/calls/reprocess: a call (or every call
// matching the list's filters) reset and queued again for transcription or analysis. A piece
// of add_call_routes.
#include "earshot/api/gateway.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/transcript_repository.hpp"
#include "route_util.hpp"
#include "routes_calls.hpp"

namespace earshot::api::calls {

using detail::invalid;

namespace {

enum class ReprocessStage { kTranscribe, kAnalyze };

Result<ReprocessStage> parse_stage(const Json& b) {
  auto it = b.find("stage");
  if (it == b.end() || (*it != "transcribe" && *it != "analyze")) {
    return invalid("stage must be transcribe|analyze");
  }
  return *it == "analyze" ? ReprocessStage::kAnalyze : ReprocessStage::kTranscribe;
}

queue::OutgoingMessage analyze_message(const QueueControl& q, const std::string& bid, storage::Id call_id) {
  return queue::make_stage_message(q.topology(), queue::AnalyzeRequest::for_call(bid, call_id));
}

// The recording a call names may be read for business `bid`: an object under the business's
// own prefix (ObjectStore::owned_by, the one ownership rule), or an http(s) URL a source
// system gave (the stt worker fetches those through its address policy). kInvalidArgument
// with the reason otherwise.
Status recording_owned(GatewayServices& s, const std::string& uri, const std::string& bid) {
  if (uri.starts_with("http://") || uri.starts_with("https://")) return {};
  if (auto st = object_store_of(s).owned_by(uri, bid); !st) {
    return make_error(ErrorCode::kInvalidArgument, "the call's recording cannot be used: " + st.error().message);
  }
  return {};
}

// Resets the call and prepares its message. False (skipped) when the call is still being
// worked on, or (analyze) has no transcript.
Result<std::optional<queue::OutgoingMessage>> reset_call(GatewayServices& s, const storage::TenantId& t,
                                                         const storage::CallRecord& c, ReprocessStage stage) {
  auto& calls = s.repos.calls;
  if (stage == ReprocessStage::kAnalyze) {
    auto& transcripts = s.repos.transcripts;
    auto tr = transcripts.get(t, c.id);
    if (!tr) {
      if (tr.error().code == ErrorCode::kNotFound) return std::optional<queue::OutgoingMessage>{};
      return std::unexpected(tr.error());
    }
  } else if (c.audio_uri.empty()) {
    return std::optional<queue::OutgoingMessage>{};
  } else if (auto st = recording_owned(s, c.audio_uri, t.bid()); !st) {
    return std::unexpected(st.error());
  }
  auto ok = calls.reprocess(t, c.id);
  if (!ok) return std::unexpected(ok.error());
  if (!*ok) return std::optional<queue::OutgoingMessage>{};
  if (stage == ReprocessStage::kAnalyze) {
    // The transcript stands: walk the call to transcribed so the analyze stage claims it.
    for (auto [from, to] : {std::pair{storage::CallStatus::kPending, storage::CallStatus::kTranscribing},
                            std::pair{storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed}}) {
      auto adv = calls.advance(t, c.id, from, to);
      if (!adv) return std::unexpected(adv.error());
    }
    return std::optional(analyze_message(s.queues, t.bid(), c.id));
  }
  return std::optional(transcribe_message(s.queues, t.bid(), c));
}

Result<Reply> reprocess_call(GatewayServices& s, const Request& req) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"stage"}); !st) return std::unexpected(st.error());
  auto stage = parse_stage(*b);
  if (!stage) return std::unexpected(stage.error());
  auto c = own_call(s, req);
  if (!c) return std::unexpected(c.error());
  const auto t = detail::tenant_of(req.caller_bid());
  auto m = reset_call(s, t, *c, *stage);
  if (!m) return std::unexpected(m.error());
  std::optional<queue::OutgoingMessage>& message = *m;
  if (!message) {
    return make_error(ErrorCode::kFailedPrecondition, *stage == ReprocessStage::kAnalyze
                                                          ? "the call has no transcript or is still being processed"
                                                          : "the call is still being processed or has no recording");
  }
  std::vector<queue::OutgoingMessage> msgs;
  msgs.push_back(std::move(*message));
  if (auto st = s.queues.publish(std::move(msgs)); !st) return std::unexpected(st.error());
  publish_event(s, t.bid(), "call.status",
                {{"call_id", c->id},
                 {"status", *stage == ReprocessStage::kAnalyze ? "transcribed" : "pending"},
                 {"previous", storage::status_name(c->status)}});
  Reply r = Reply::ok(Json{{"id", c->id}, {"stage", (*b)["stage"]}, {"status", "queued"}});
  r.status = 202;
  return r;
}

// The calls `q` matches, oldest first, at most `limit`. Collected before any is reset:
// resetting changes the status a filter may be on.
Result<std::vector<storage::CallRecord>> matching_calls(GatewayServices& s, const storage::TenantId& t,
                                                        storage::CallListQuery q, std::int64_t limit) {
  q.limit = 500;
  q.sort = storage::CallSort::kStartedAt;
  q.order = storage::SortOrder::kAsc;
  auto& calls = s.repos.calls;
  std::vector<storage::CallRecord> matched;
  for (;;) {
    auto page = calls.list(t, q);
    if (!page) return std::unexpected(page.error());
    for (auto& c : page->calls) {
      if (static_cast<std::int64_t>(matched.size()) < limit) matched.push_back(std::move(c));
    }
    if (page->next_cursor.empty() || static_cast<std::int64_t>(matched.size()) >= limit) break;
    q.cursor = page->next_cursor;
  }
  return matched;
}

// Every call matching the filters (the list's query parameters), up to `max`.
Result<Reply> reprocess_calls(GatewayServices& s, const Request& req) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"stage", "max"}); !st) return std::unexpected(st.error());
  auto stage = parse_stage(*b);
  if (!stage) return std::unexpected(stage.error());
  auto max = detail::int_field(*b, "max", 1, 100000);
  if (!max) return std::unexpected(max.error());
  auto q = parse_filters(req, false);  // also refuses any query parameter but the list's filters
  if (!q) return std::unexpected(q.error());
  if (auto st = redact_text_filter(s, req, *q); !st) return std::unexpected(st.error());
  const auto t = detail::tenant_of(req.caller_bid());
  auto matched = matching_calls(s, t, *q, max->value_or(10000));
  if (!matched) return std::unexpected(matched.error());
  std::int64_t queued = 0, skipped = 0;
  std::vector<queue::OutgoingMessage> batch;
  for (const auto& c : *matched) {
    auto m = reset_call(s, t, c, *stage);
    if (!m && m.error().code == ErrorCode::kInvalidArgument) {
      ++skipped;  // a recording outside the business's prefix (recording_owned)
      continue;
    }
    if (!m) return std::unexpected(m.error());
    std::optional<queue::OutgoingMessage>& message = *m;
    if (!message) {
      ++skipped;
      continue;
    }
    batch.push_back(std::move(*message));
    ++queued;
    if (batch.size() >= 500) {
      if (auto st = s.queues.publish(std::move(batch)); !st) return std::unexpected(st.error());
      batch.clear();
    }
  }
  if (!batch.empty()) {
    if (auto st = s.queues.publish(std::move(batch)); !st) return std::unexpected(st.error());
  }
  Reply r = Reply::ok(Json{{"stage", (*b)["stage"]}, {"queued", queued}, {"skipped", skipped}});
  r.status = 202;
  return r;
}

}  // namespace

void add_reprocess_routes(Router& router, GatewayServices& s, const CallPolicies& p) {
  router.add("POST", "/api/v1/calls/{id}/reprocess", p.analyst,
             [&s](const Request& req) { return reprocess_call(s, req); });
  router.add("POST", "/api/v1/calls/reprocess", p.analyst,
             [&s](const Request& req) { return reprocess_calls(s, req); });
}

}  // namespace earshot::api::calls

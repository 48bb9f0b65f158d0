// /api/v1/calls...: the list, ingest of one call, detail and delete here; audio and transcript
// export in routes_call_media.cpp, notes in routes_call_notes.cpp, reprocess in
// routes_call_reprocess.cpp (the pieces: routes_calls.hpp).
#include "routes_calls.hpp"

#include <algorithm>
#include <array>
#include <filesystem>

#include "earshot/api/gateway.hpp"
#include "earshot/api/json_writer.hpp"
#include "earshot/core/log.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/pipeline/redaction.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/call_detail_repository.hpp"
#include "earshot/storage/phone.hpp"
#include "earshot/storage/transcript_repository.hpp"
#include "pii_access.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

namespace calls {
namespace {

std::string_view direction_name(storage::CallDirection d) {
  switch (d) {
    case storage::CallDirection::kInbound:
      return "inbound";
    case storage::CallDirection::kOutbound:
      return "outbound";
    case storage::CallDirection::kUnknown:
      return "unknown";
  }
  return "unknown";
}

// One field list per view, written straight into the response text (json_writer.hpp); the
// Json forms, for the routes that are not hot, are parsed from the same text.
void write_call_fields(JsonWriter& w, const storage::CallRecord& c) {
  w.field("id", c.id).field("external_id", c.external_id);
  w.key("human_agent_id").optional(c.human_agent_id);
  w.field("customer_phone", c.customer_phone).field("customer_name", c.customer_name);
  w.field("direction", direction_name(c.direction)).field("city", c.city);
  w.field("issue_category", c.issue_category);
  w.key("started_at").timestamp(c.started_at);
  w.field("duration_ms", c.duration_ms).field("channels", c.channels).field("language", c.language);
  w.field("status", storage::status_name(c.status));
  w.key("failed_stage").string_or_null(c.failed_stage);
  w.key("failed_reason").string_or_null(c.failed_reason);
  w.field("attempts", c.attempts);
  w.field("agent_talk_ratio", c.agent_talk_ratio).field("customer_sentiment", c.customer_sentiment);
  w.field("qa_score", c.qa_score);
  w.key("status_changed_at").timestamp(c.status_changed_at);
  w.key("created_at").timestamp(c.created_at);
}

Json call_json(const storage::CallRecord& c) {
  std::string text;
  JsonWriter w(text);
  w.begin_object();
  write_call_fields(w, c);
  w.end_object();
  return Json::parse(text);
}

void write_metrics(JsonWriter& w, const storage::CallMetrics& m) {
  w.begin_object();
  w.field("source", m.source == storage::MetricsSource::kAudio ? "audio" : "transcript");
  w.field("duration_ms", m.duration_ms).field("agent_talk_ms", m.agent_talk_ms);
  w.field("customer_talk_ms", m.customer_talk_ms).field("agent_talk_ratio", m.agent_talk_ratio);
  w.field("agent_talk_pct_of_call", m.agent_talk_pct_of_call).field("non_talk_ms", m.non_talk_ms);
  w.key("silences").raw(m.silences_json);
  w.field("overtalk_ms", m.overtalk_ms).field("overtalk_count", m.overtalk_count);
  w.field("agent_interruptions", m.agent_interruptions).field("agent_interruption_ms", m.agent_interruption_ms);
  w.field("customer_interruptions", m.customer_interruptions);
  w.field("customer_interruption_ms", m.customer_interruption_ms);
  w.field("agent_loudness_mean_dbfs", m.agent_loudness_mean_dbfs);
  w.field("agent_loudness_peak_dbfs", m.agent_loudness_peak_dbfs);
  w.field("customer_loudness_mean_dbfs", m.customer_loudness_mean_dbfs);
  w.field("customer_loudness_peak_dbfs", m.customer_loudness_peak_dbfs);
  w.field("longest_monologue_ms", m.longest_monologue_ms);
  w.field("longest_customer_story_ms", m.longest_customer_story_ms);
  w.field("interactivity_per_min", m.interactivity_per_min).field("patience_ms", m.patience_ms);
  w.field("agent_wpm", m.agent_wpm).field("customer_wpm", m.customer_wpm);
  w.field("question_rate_per_hour", m.question_rate_per_hour);
  w.field("agent_sentiment", m.agent_sentiment).field("customer_sentiment", m.customer_sentiment);
  w.key("agent_sentiment_quarters").begin_array();
  for (const auto& q : m.agent_sentiment_q) w.optional(q);
  w.end_array();
  w.key("customer_sentiment_quarters").begin_array();
  for (const auto& q : m.customer_sentiment_q) w.optional(q);
  w.end_array();
  w.field("sentiment_change", m.sentiment_change);
  w.end_object();
}

// The list's paging parameters: sort, order, limit and cursor (which must belong to the
// same sort).
Status parse_paging(const Request& req, storage::CallListQuery& q) {
  if (auto s = req.query_param("sort")) {
    if (*s == "started_at")
      q.sort = storage::CallSort::kStartedAt;
    else if (*s == "duration")
      q.sort = storage::CallSort::kDuration;
    else if (*s == "sentiment")
      q.sort = storage::CallSort::kSentiment;
    else if (*s == "qa_score")
      q.sort = storage::CallSort::kQaScore;
    else
      return invalid("sort must be started_at|duration|sentiment|qa_score");
  }
  if (auto o = req.query_param("order")) {
    if (*o == "desc")
      q.order = storage::SortOrder::kDesc;
    else if (*o == "asc")
      q.order = storage::SortOrder::kAsc;
    else
      return invalid("order must be asc|desc");
  }
  auto limit = detail::query_int(req, "limit", 1, 500);
  if (!limit) return std::unexpected(limit.error());
  q.limit = static_cast<int>(limit->value_or(50));
  if (auto c = req.query_param("cursor")) {
    auto dec = storage::decode_cursor(*c);
    if (!dec) return invalid("cursor is not one this API issued");
    if (dec->sort != q.sort || dec->order != q.order) return invalid("cursor belongs to another sort");
    q.cursor = *c;
  }
  return {};
}

// The JSON page, written straight into the body (the hot path: about 330 bytes per row).
std::string call_page_body(const storage::CallPage& page) {
  std::string body;
  body.reserve(64 + page.calls.size() * 512);
  JsonWriter w(body);
  w.begin_object().key("next_cursor");
  if (page.next_cursor.empty()) {
    w.null();
  } else {
    w.string(page.next_cursor);
  }
  w.key("items").begin_array();
  for (const auto& c : page.calls) {
    w.begin_object();
    write_call_fields(w, c);
    w.end_object();
  }
  w.end_array().end_object();
  return body;
}

Result<Reply> list_calls(GatewayServices& s, const Request& req) {
  auto q = parse_filters(req, true);
  if (!q) return std::unexpected(q.error());
  if (auto st = redact_text_filter(s, req, *q); !st) return std::unexpected(st.error());
  // Pages (the first and those after a cursor) come from the cache while none of the
  // business's calls changed (list_cache.hpp); the generation is read before the
  // database is asked.
  const std::string& bid = req.caller_bid();
  const bool cacheable = s.list_cache != nullptr && s.list_cache->enabled();
  // The text filter matches the raw or the redacted transcript: never one page for both.
  const std::string cache_key =
      cacheable ? ListCache::key_of(req) + (q->text_redacted ? "\x1fredacted" : "") : std::string();
  const std::uint64_t generation = cacheable ? s.list_cache->generation(bid) : 0;
  if (cacheable) {
    if (auto hit = s.list_cache->find(bid, cache_key)) return std::move(*hit);
  }
  // The replica's when there is one (lag-tolerant: docs/storage.md, "Read replica").
  auto& calls = read_repos_of(s).calls;
  auto page = calls.list(detail::tenant_of(req.caller_bid()), *q);
  if (!page) return std::unexpected(page.error());
  Result<Reply> out;
  if (req.query_param("format").value_or("json") == "json") {
    out = Reply::text(call_page_body(*page), "application/json");
  } else {
    Json items = Json::array();
    for (const auto& c : page->calls) items.push_back(call_json(c));
    out =
        detail::list_reply(req, items,
                           {"id", "external_id", "human_agent_id", "direction", "city", "issue_category", "started_at",
                            "duration_ms", "language", "status", "agent_talk_ratio", "customer_sentiment", "qa_score"},
                           "calls", Json::object());
  }
  if (out && !page->next_cursor.empty()) out->headers.emplace_back("X-Next-Cursor", page->next_cursor);
  if (out && cacheable) s.list_cache->store(bid, cache_key, generation, *out);
  return out;
}

// The call a POST /api/v1/calls body describes, every field checked (in this order, so the
// first problem is the one reported). The recording must be in the object store, under the
// business's prefix.
Result<storage::CallInput> parse_call_input(const objectstore::ObjectStore& objects, const Json& b,
                                            const std::string& bid) {
  if (auto st = detail::only_fields(
          b, {"external_id", "audio_uri", "started_at", "duration_ms", "channels", "language", "customer_phone",
              "customer_name", "direction", "city", "issue_category", "metadata"});
      !st) {
    return std::unexpected(st.error());
  }
  storage::CallInput in;
  auto ext = detail::str_field(b, "external_id", true, 1, 128);
  if (!ext) return std::unexpected(ext.error());
  in.external_id = ext->value_or("");
  auto uri = detail::str_field(b, "audio_uri", true, 9, 4096);
  if (!uri) return std::unexpected(uri.error());
  const std::string audio_uri = uri->value_or("");
  if (!objects.owns(audio_uri)) {
    return invalid(
        "audio_uri must be a location in the object store: store://key, or s3://bucket/key in the "
        "configured bucket");
  }
  if (auto st = objects.owned_by(audio_uri, bid); !st) {
    return invalid("audio_uri is not this business's recording: " + st.error().message);
  }
  in.audio_uri = audio_uri;
  auto started = detail::str_field(b, "started_at", true, 10, 32);
  if (!started) return std::unexpected(started.error());
  auto t = detail::parse_time(started->value_or(""));
  if (!t) return invalid("started_at must be a UTC time like 2026-11-21T09:40:00Z");
  in.started_at = *t;
  auto dur = detail::int_field(b, "duration_ms", 0, 86'400'000);
  if (!dur) return std::unexpected(dur.error());
  in.duration_ms = dur->value_or(0);
  auto ch = detail::int_field(b, "channels", 1, 8);
  if (!ch) return std::unexpected(ch.error());
  in.channels = static_cast<int>(ch->value_or(1));
  for (auto [name, target, max] : {std::tuple{"language", &in.language, std::size_t{16}},
                                   std::tuple{"customer_phone", &in.customer_phone, std::size_t{32}},
                                   std::tuple{"customer_name", &in.customer_name, std::size_t{255}},
                                   std::tuple{"city", &in.city, std::size_t{128}},
                                   std::tuple{"issue_category", &in.issue_category, std::size_t{128}}}) {
    auto v = detail::str_field(b, name, false, 0, max);
    if (!v) return std::unexpected(v.error());
    *target = v->value_or("");
  }
  if (b.contains("direction")) {
    const Json& d = b["direction"];
    if (d == "inbound")
      in.direction = storage::CallDirection::kInbound;
    else if (d == "outbound")
      in.direction = storage::CallDirection::kOutbound;
    else if (d == "unknown")
      in.direction = storage::CallDirection::kUnknown;
    else
      return invalid("direction must be inbound|outbound|unknown");
  }
  if (b.contains("metadata")) {
    if (!b["metadata"].is_object()) return invalid("metadata must be an object");
    in.metadata_json = b["metadata"].dump();
  }
  return in;
}

// Ingest of one call: a new call is queued for transcription (202), a known one updated (200).
Result<Reply> create_call(GatewayServices& s, const Request& req) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  auto in = parse_call_input(*s.object_store, *b, req.caller_bid());
  if (!in) return std::unexpected(in.error());
  const auto tenant = detail::tenant_of(req.caller_bid());
  auto& calls = s.repos.calls;
  auto up = calls.upsert(tenant, *in);
  if (!up) return std::unexpected(up.error());
  auto c = calls.get(tenant, up->id);
  if (!c) return std::unexpected(c.error());
  if (up->created) {
    std::vector<queue::OutgoingMessage> m;
    m.push_back(transcribe_message(s.queues, tenant.bid(), *c));
    if (auto st = s.queues.publish(std::move(m)); !st) return std::unexpected(st.error());
  }
  Reply r = Reply::ok(call_json(*c));
  r.status = up->created ? 202 : 200;
  return r;
}

// Written straight into the body; stored JSON (metadata, segments, outputs, spans) is copied
// in as stored (json_writer.hpp). With `redact` (a caller without pii:read, docs/security.md):
// the redacted transcript, and every text of the analyses, escalations and notes redacted.
std::string call_detail_body(const storage::CallDetail& d, bool redact) {
  std::string body;
  const storage::CallRecord& c = d.call;
  const auto& tr = d.transcript;
  body.reserve(2048 + c.metadata_json.size() + (tr ? tr->segments_json.size() : 0));
  JsonWriter w(body);
  w.begin_object();
  write_call_fields(w, c);
  w.key("metadata").raw(c.metadata_json);
  w.field("call_context", c.call_context);
  w.key("metrics");
  if (d.metrics) {
    write_metrics(w, *d.metrics);
  } else {
    w.null();
  }
  w.key("transcript");
  if (tr) {
    w.begin_object().field("language", tr->language).field("provider", tr->provider);
    w.field("language_source", tr->language_source);
    w.key("segments").raw(redact ? detail::redacted_segments(*tr) : tr->segments_json);
    // The English rendering beside the original (same speakers and times), when one exists.
    w.key("english");
    if (tr->english_segments_json.empty()) {
      w.null();
    } else {
      w.begin_object().field("source", tr->english_source);
      w.key("segments")
          .raw(redact ? pipeline::redact_transcript(tr->english_segments_json).segments_json
                      : tr->english_segments_json);
      w.end_object();
    }
    w.end_object();
  } else {
    w.null();
  }
  // Built-in analyzers that could not read the call's language, with the reason.
  w.key("not_analyzed").begin_array();
  for (const auto& a : d.analyses) {
    if (a.output_json.find("\"analyzed\":false") == std::string::npos) continue;
    const auto out = detail::parsed(a.output_json);
    if (!out.is_object() || out.value("analyzed", true)) continue;
    w.begin_object().field("agent", a.agent_name).field("reason", out.value("reason", std::string()));
    w.end_object();
  }
  w.end_array();
  w.key("analyses").begin_array();
  for (const auto& a : d.analyses) {
    w.begin_object().field("id", a.id).field("agent_config_id", a.agent_config_id);
    w.field("agent", a.agent_name).field("kind", a.agent_kind);
    w.field("agent_version", a.agent_version);
    w.key("output").raw(redact ? detail::redact_json_text(a.output_json) : a.output_json);
    w.field("model", a.model);
    w.key("created_at").timestamp(a.created_at);
    w.end_object();
  }
  w.end_array();
  w.key("categories").begin_array();
  for (const auto& m : d.categories) {
    w.begin_object().field("category_id", m.category_id);
    w.key("spans").raw(m.spans_json);
    w.end_object();
  }
  w.end_array();
  w.key("qa").begin_object().field("score", c.qa_score).end_object();
  w.key("escalations").begin_array();
  for (const auto& e : d.escalations) {
    w.begin_object().field("id", e.id);
    w.field("reason", redact ? pipeline::redact_text(e.reason) : e.reason).field("severity", e.severity);
    w.field("status", e.status);
    w.key("created_at").timestamp(e.created_at);
    w.key("resolved_at").timestamp(e.resolved_at);
    w.end_object();
  }
  w.end_array();
  w.key("notes").begin_array();
  for (const auto& n : d.notes) write_note(w, n, redact);
  w.end_array();
  w.end_object();
  return body;
}

// The recording goes first: when the store cannot delete it now (503), the call stays and a
// retry deletes both; an absent object is already the wanted state. Only an object under the
// call's own business prefix is removed; a foreign URI stored by older code is left alone (and
// logged): deleting it would delete another business's data.
Result<Reply> delete_call(GatewayServices& s, objectstore::ObjectStore& objects, const Request& req) {
  auto c = own_call(s, req);
  if (!c) return std::unexpected(c.error());
  if (objects.owns(c->audio_uri)) {
    if (auto own = objects.owned_by(c->audio_uri, req.caller_bid()); !own) {
      log::warn("call names a recording outside its business's prefix; the object is left alone",
                {{"call_id", std::to_string(c->id)}, {"reason", own.error().message}});
    } else if (auto st = objects.remove(c->audio_uri); !st) {
      return std::unexpected(objectstore::object_store_unavailable(st.error()));
    }
  }
  // The recording's redacted copy (made by the analyze stage) goes with it, under the same rule.
  auto tr = s.repos.transcripts.get(detail::tenant_of(req.caller_bid()), c->id);
  if (!tr && tr.error().code != ErrorCode::kNotFound) return std::unexpected(tr.error());
  if (tr && !tr->redacted_audio_uri.empty() && objects.owns(tr->redacted_audio_uri) &&
      objects.owned_by(tr->redacted_audio_uri, req.caller_bid())) {
    if (auto st = objects.remove(tr->redacted_audio_uri); !st) {
      return std::unexpected(objectstore::object_store_unavailable(st.error()));
    }
  }
  auto& calls = s.repos.calls;
  auto ok = calls.remove(detail::tenant_of(req.caller_bid()), c->id);
  if (!ok) return std::unexpected(ok.error());
  if (!*ok) return make_error(ErrorCode::kNotFound, "no such call");
  publish_event(s, req.caller_bid(), "call.deleted", {{"call_id", c->id}});
  return Reply::no_content();
}

}  // namespace

Result<storage::CallRecord> own_call(GatewayServices& s, const Request& req) {
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto& calls = s.repos.calls;
  return calls.get(detail::tenant_of(req.caller_bid()), *id);
}

void publish_event(GatewayServices& s, const std::string& bid, std::string_view type, Json data) {
  if (s.events != nullptr) (void)s.events->events().publish(bid, type, std::move(data));
}

queue::OutgoingMessage transcribe_message(const QueueControl& q, const std::string& bid, const storage::CallRecord& c) {
  return queue::make_stage_message(q.topology(),
                                   queue::TranscribeRequest::for_call(bid, c.id, c.audio_uri, c.channels, c.language));
}

namespace {

// The list's filters (the bulk reprocess takes the same), and the paging parameters the list
// adds.
constexpr std::array<std::string_view, 17> kFilterParams = {
    "agent_id",       "from",   "to",       "sentiment_min", "sentiment_max", "talk_ratio_min",
    "talk_ratio_max", "status", "category", "language",      "city",          "q",
    "direction",      "qa_min", "qa_max",   "category_id",   "customer_phone"};
constexpr std::array<std::string_view, 5> kPagingParams = {"sort", "order", "limit", "cursor", "format"};

Status only_filter_params(const Request& req, bool paging) {
  for (const auto& [k, v] : req.query) {
    const auto known = [&k](const auto& names) { return std::find(names.begin(), names.end(), k) != names.end(); };
    if (!known(kFilterParams) && !(paging && known(kPagingParams))) {
      return invalid(fmt::format("unknown query parameter '{}'", k));
    }
  }
  return {};
}

// direction, qa_min / qa_max (the stored score's scale, 0..1) and category_id.
Status parse_direction_qa_category(const Request& req, storage::CallListQuery& q) {
  if (auto d = req.query_param("direction")) {
    if (*d == "inbound")
      q.direction = storage::CallDirection::kInbound;
    else if (*d == "outbound")
      q.direction = storage::CallDirection::kOutbound;
    else if (*d == "unknown")
      q.direction = storage::CallDirection::kUnknown;
    else
      return invalid("direction must be inbound|outbound|unknown");
  }
  for (auto [name, target] : {std::pair{"qa_min", &q.qa_min}, std::pair{"qa_max", &q.qa_max}}) {
    auto v = detail::query_double(req, name, 0, 1);
    if (!v) return std::unexpected(v.error());
    *target = *v;
  }
  if (q.qa_min && q.qa_max && *q.qa_min > *q.qa_max) return invalid("qa_min must not be above qa_max");
  auto category = detail::query_int(req, "category_id", 1, INT64_MAX);
  if (!category) return std::unexpected(category.error());
  q.matched_category_id = *category;
  return {};
}

}  // namespace

Status redact_text_filter(GatewayServices& s, const Request& req, storage::CallListQuery& q) {
  if (!q.text) return {};
  auto redact = detail::must_redact(s, req);
  if (!redact) return std::unexpected(redact.error());
  q.text_redacted = *redact;
  return {};
}

// Every value is checked; nothing reaches SQL other than as a bound parameter.
Result<storage::CallListQuery> parse_filters(const Request& req, bool paging) {
  if (auto st = only_filter_params(req, paging); !st) return std::unexpected(st.error());
  storage::CallListQuery q;
  auto agent = detail::query_int(req, "agent_id", 1, INT64_MAX);
  if (!agent) return std::unexpected(agent.error());
  q.human_agent_id = *agent;
  auto from = detail::query_time(req, "from");
  if (!from) return std::unexpected(from.error());
  q.started_from = *from;
  auto to = detail::query_time(req, "to");
  if (!to) return std::unexpected(to.error());
  q.started_to = *to;
  if (q.started_from && q.started_to && *q.started_from >= *q.started_to) {
    return invalid("from must be before to");
  }
  struct Range {
    const char* name;
    double min, max;
    std::optional<double>* target;
  };
  for (const Range& r :
       {Range{"sentiment_min", -1, 1, &q.sentiment_min}, Range{"sentiment_max", -1, 1, &q.sentiment_max},
        Range{"talk_ratio_min", 0, 1, &q.talk_ratio_min}, Range{"talk_ratio_max", 0, 1, &q.talk_ratio_max}}) {
    auto v = detail::query_double(req, r.name, r.min, r.max);
    if (!v) return std::unexpected(v.error());
    *r.target = *v;
  }
  if (auto st = req.query_param("status")) {
    auto s = storage::status_from_name(*st);
    if (!s) return invalid("status must be one of pending|transcribing|transcribed|analyzing|analyzed|notified|failed");
    q.status = s;
  }
  struct Text {
    const char* name;
    std::size_t max;
    std::optional<std::string>* target;
  };
  for (const Text& t : {Text{"category", 128, &q.category}, Text{"language", 16, &q.language},
                        Text{"city", 128, &q.city}, Text{"q", 256, &q.text}}) {
    auto v = detail::query_str(req, t.name, t.max);
    if (!v) return std::unexpected(v.error());
    *t.target = *v;
  }
  if (auto st = parse_direction_qa_category(req, q); !st) return std::unexpected(st.error());
  // In international form: stored numbers are E.164, and a hashed one matches only the
  // hash of exactly that spelling. A stored hash, as the list shows it, matches itself.
  auto phone = detail::query_str(req, "customer_phone", 80);
  if (!phone) return std::unexpected(phone.error());
  const auto is_hash = [](std::string_view v) {
    return v.size() == 7 + 64 && v.starts_with("sha256:") &&
           v.substr(7).find_first_not_of("0123456789abcdef") == std::string_view::npos;
  };
  const std::optional<std::string> given = *phone;
  if (given.has_value() && is_hash(*given)) {
    q.customer_phone = *given;
  } else if (given.has_value()) {
    // The leading + makes the default country irrelevant (it is never applied).
    auto e164 = storage::normalize_phone_e164(*given, "1");
    if (!e164 || !given->starts_with('+')) {
      return invalid(
          "customer_phone must be a number in international form, +<country code><number>, or a stored hash "
          "sha256:<64 hex digits>");
    }
    q.customer_phone = *e164;
  }
  if (!paging) return q;
  if (auto st = parse_paging(req, q); !st) return std::unexpected(st.error());
  return q;
}

void add_call_list_routes(Router& router, GatewayServices& s, const CallPolicies& p) {
  router.add("GET", "/api/v1/calls", p.read, [&s](const Request& req) { return list_calls(s, req); });
  router.add("POST", "/api/v1/calls", p.ingest, [&s](const Request& req) { return create_call(s, req); });
}

void add_call_detail_routes(Router& router, GatewayServices& s, const CallPolicies& p) {
  router.add("GET", "/api/v1/calls/{id}", p.read, [&s](const Request& req) -> Result<Reply> {
    auto id = req.id_param("id");
    if (!id) return std::unexpected(id.error());
    // Two statements: the call with its transcript and metrics, then its lists (was seven).
    auto d = s.repos.call_details.detail(detail::tenant_of(req.caller_bid()), *id);
    if (!d) return std::unexpected(d.error());
    auto redact = detail::must_redact(s, req);
    if (!redact) return std::unexpected(redact.error());
    return Reply::text(call_detail_body(*d, *redact), "application/json");
  });
  router.add("DELETE", "/api/v1/calls/{id}", p.admin,
             [&s, objects = s.object_store](const Request& req) { return delete_call(s, *objects, req); });
}

}  // namespace calls

objectstore::ObjectStore& object_store_of(GatewayServices& s) {
  if (!s.object_store) s.object_store = std::make_shared<objectstore::LocalObjectStore>(s.object_store_dir);
  return *s.object_store;
}

void add_call_routes(Router& router, GatewayServices& s) {
  (void)object_store_of(s);
  calls::CallPolicies p;
  p.read.api_key_scope = "read";
  p.analyst.min_role = Role::kAnalyst;
  p.admin.min_role = Role::kAdmin;
  p.ingest.min_role = Role::kAdmin;
  p.ingest.api_key_scope = "ingest";
  calls::add_call_list_routes(router, s, p);
  calls::add_call_detail_routes(router, s, p);
  calls::add_call_audio_routes(router, s, p);
  calls::add_call_transcript_routes(router, s, p);
  calls::add_call_notes_routes(router, s, p);
  calls::add_reprocess_routes(router, s, p);
}

}  // namespace earshot::api

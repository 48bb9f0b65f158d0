// /api/v1/calls...: list, detail, audio, transcript export, notes, delete, reprocess, ingest.
#include <filesystem>

#include "earshot/api/gateway.hpp"
#include "earshot/api/json_writer.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

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

void write_note(JsonWriter& w, const storage::CallNote& n) {
  w.begin_object();
  w.field("id", n.id).field("author_user_id", n.author_user_id).field("body", n.body);
  w.key("created_at").timestamp(n.created_at);
  w.end_object();
}

Json note_json(const storage::CallNote& n) {
  std::string text;
  JsonWriter w(text);
  write_note(w, n);
  return Json::parse(text);
}

// Filters shared by the list and bulk reprocess. Every value is checked; nothing reaches SQL
// other than as a bound parameter.
Result<storage::CallListQuery> parse_filters(const Request& req, bool paging) {
  if (paging) {
    if (auto st = detail::only_query(
            req, {"agent_id", "from", "to", "sentiment_min", "sentiment_max", "talk_ratio_min", "talk_ratio_max",
                  "status", "category", "language", "city", "q", "sort", "order", "limit", "cursor", "format"});
        !st) {
      return std::unexpected(st.error());
    }
  }
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
    q.status = *s;
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
  if (!paging) return q;
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
  return q;
}

std::string clock_text(std::int64_t ms, char frac_sep) {
  const auto h = ms / 3'600'000;
  const auto m = (ms / 60'000) % 60;
  const auto sec = (ms / 1000) % 60;
  return fmt::format("{:02}:{:02}:{:02}{}{:03}", h, m, sec, frac_sep, ms % 1000);
}

Result<Reply> export_transcript(const storage::Transcript& tr, const std::string& format, std::int64_t call_id) {
  Json segs = detail::parsed(tr.segments_json);
  if (!segs.is_array()) segs = Json::array();
  auto seg_text = [](const Json& s, const char* k) -> std::string {
    auto it = s.find(k);
    return it != s.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto seg_ms = [](const Json& s, const char* k) -> std::int64_t {
    auto it = s.find(k);
    return it != s.end() && it->is_number() ? it->get<std::int64_t>() : 0;
  };
  Reply r;
  const std::string base = fmt::format("call-{}-transcript", call_id);
  if (format == "json") {
    r = Reply::ok(Json{{"call_id", call_id},
                       {"language", tr.language},
                       {"provider", tr.provider},
                       {"segments", segs},
                       {"text", tr.full_text}});
    r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.json\"", base));
  } else if (format == "txt") {
    std::string out;
    for (const auto& s : segs) {
      out += fmt::format("[{}] {}: {}\n", clock_text(seg_ms(s, "start_ms"), '.'), seg_text(s, "speaker"),
                         seg_text(s, "text"));
    }
    r = Reply::text(out, "text/plain; charset=utf-8");
    r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.txt\"", base));
  } else if (format == "srt") {
    std::string out;
    int n = 0;
    for (const auto& s : segs) {
      out += fmt::format("{}\n{} --> {}\n{}: {}\n\n", ++n, clock_text(seg_ms(s, "start_ms"), ','),
                         clock_text(seg_ms(s, "end_ms"), ','), seg_text(s, "speaker"), seg_text(s, "text"));
    }
    r = Reply::text(out, "application/x-subrip; charset=utf-8");
    r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.srt\"", base));
  } else {
    return invalid("format must be json|txt|srt");
  }
  return r;
}

std::string audio_type(const std::string& uri) {
  auto ends = [&](const char* ext) { return uri.ends_with(ext); };
  if (ends(".mp3")) return "audio/mpeg";
  if (ends(".flac")) return "audio/flac";
  if (ends(".ogg")) return "audio/ogg";
  if (ends(".wav")) return "audio/wav";
  return "application/octet-stream";
}

// One "bytes=a-b" / "bytes=a-" / "bytes=-n" range of a `size`-byte object: [first, last].
// nullopt means "not satisfiable"; a header this does not understand is ignored (whole body).
struct ByteRange {
  std::uint64_t first = 0, last = 0;
};
std::optional<std::optional<ByteRange>> parse_range(const std::string& h, std::uint64_t size) {
  if (!h.starts_with("bytes=") || h.find(',') != std::string::npos) return std::optional<ByteRange>{};
  const std::string spec = h.substr(6);
  const auto dash = spec.find('-');
  if (dash == std::string::npos) return std::optional<ByteRange>{};
  auto num = [](std::string_view t, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc() && p == t.data() + t.size();
  };
  std::uint64_t a = 0, b = 0;
  const std::string_view left(spec.data(), dash);
  const std::string_view right(spec.data() + dash + 1, spec.size() - dash - 1);
  if (left.empty()) {
    if (!num(right, b)) return std::optional<ByteRange>{};
    if (b == 0 || size == 0) return std::nullopt;
    return std::optional<ByteRange>(ByteRange{size - std::min(b, size), size - 1});
  }
  if (!num(left, a)) return std::optional<ByteRange>{};
  if (right.empty()) {
    b = size == 0 ? 0 : size - 1;
  } else if (!num(right, b) || b < a) {
    return std::optional<ByteRange>{};
  }
  if (a >= size) return std::nullopt;
  return std::optional<ByteRange>(ByteRange{a, std::min(b, size - 1)});
}

Result<storage::CallRecord> own_call(GatewayServices& s, const Request& req) {
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto& calls = s.repos.calls;
  return calls.get(detail::tenant_of(req.caller_bid()), *id);
}

// Tells dashboards (and other gateways' list caches) about a change made here. Never fails
// the request: LiveEvents logs and counts its failures.
void publish_event(GatewayServices& s, const std::string& bid, std::string_view type, Json data) {
  if (s.events != nullptr) (void)s.events->events().publish(bid, type, std::move(data));
}

enum class ReprocessStage { kTranscribe, kAnalyze };

Result<ReprocessStage> parse_stage(const Json& b) {
  auto it = b.find("stage");
  if (it == b.end() || (*it != "transcribe" && *it != "analyze")) {
    return invalid("stage must be transcribe|analyze");
  }
  return *it == "analyze" ? ReprocessStage::kAnalyze : ReprocessStage::kTranscribe;
}

queue::OutgoingMessage transcribe_message(const QueueControl& q, const std::string& bid, const storage::CallRecord& c) {
  return queue::make_stage_message(q.topology(),
                                   queue::TranscribeRequest::for_call(bid, c.id, c.audio_uri, c.channels, c.language));
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

}  // namespace

objectstore::ObjectStore& object_store_of(GatewayServices& s) {
  if (!s.object_store) s.object_store = std::make_shared<objectstore::LocalObjectStore>(s.object_store_dir);
  return *s.object_store;
}

void add_call_routes(Router& router, GatewayServices& s) {
  (void)object_store_of(s);
  const std::shared_ptr<objectstore::ObjectStore> objects = s.object_store;
  Policy read;
  read.api_key_scope = "read";
  Policy analyst;
  analyst.min_role = Role::kAnalyst;
  Policy admin;
  admin.min_role = Role::kAdmin;
  Policy ingest;
  ingest.min_role = Role::kAdmin;
  ingest.api_key_scope = "ingest";

  router.add("GET", "/api/v1/calls", read, [&s](const Request& req) -> Result<Reply> {
    auto q = parse_filters(req, true);
    if (!q) return std::unexpected(q.error());
    // Pages (the first and those after a cursor) come from the cache while none of the
    // business's calls changed (list_cache.hpp); the generation is read before the
    // database is asked.
    const std::string& bid = req.caller_bid();
    const bool cacheable = s.list_cache != nullptr && s.list_cache->enabled();
    const std::string cache_key = cacheable ? ListCache::key_of(req) : std::string();
    const std::uint64_t generation = cacheable ? s.list_cache->generation(bid) : 0;
    if (cacheable) {
      if (auto hit = s.list_cache->find(bid, cache_key)) return std::move(*hit);
    }
    auto& calls = s.repos.calls;
    auto page = calls.list(detail::tenant_of(req.caller_bid()), *q);
    if (!page) return std::unexpected(page.error());
    Result<Reply> out;
    if (req.query_param("format").value_or("json") == "json") {
      // The hot path: rows written straight into the body (about 330 bytes per row).
      std::string body;
      body.reserve(64 + page->calls.size() * 512);
      JsonWriter w(body);
      w.begin_object().key("next_cursor");
      if (page->next_cursor.empty()) {
        w.null();
      } else {
        w.string(page->next_cursor);
      }
      w.key("items").begin_array();
      for (const auto& c : page->calls) {
        w.begin_object();
        write_call_fields(w, c);
        w.end_object();
      }
      w.end_array().end_object();
      out = Reply::text(std::move(body), "application/json");
    } else {
      Json items = Json::array();
      for (const auto& c : page->calls) items.push_back(call_json(c));
      out = detail::list_reply(
          req, items,
          {"id", "external_id", "human_agent_id", "direction", "city", "issue_category", "started_at", "duration_ms",
           "language", "status", "agent_talk_ratio", "customer_sentiment", "qa_score"},
          "calls", Json::object());
    }
    if (out && !page->next_cursor.empty()) out->headers.emplace_back("X-Next-Cursor", page->next_cursor);
    if (out && cacheable) s.list_cache->store(bid, cache_key, generation, *out);
    return out;
  });

  router.add("POST", "/api/v1/calls", ingest, [&s](const Request& req) -> Result<Reply> {
    auto b = req.json_body();
    if (!b) return std::unexpected(b.error());
    if (auto st = detail::only_fields(
            *b, {"external_id", "audio_uri", "started_at", "duration_ms", "channels", "language", "customer_phone",
                 "customer_name", "direction", "city", "issue_category", "metadata"});
        !st) {
      return std::unexpected(st.error());
    }
    storage::CallInput in;
    auto ext = detail::str_field(*b, "external_id", true, 1, 128);
    if (!ext) return std::unexpected(ext.error());
    in.external_id = **ext;
    auto uri = detail::str_field(*b, "audio_uri", true, 9, 4096);
    if (!uri) return std::unexpected(uri.error());
    if (!s.object_store->owns(**uri)) {
      return invalid(
          "audio_uri must be a location in the object store: store://key, or s3://bucket/key in the "
          "configured bucket");
    }
    if (auto st = s.object_store->owned_by(**uri, req.caller_bid()); !st) {
      return invalid("audio_uri is not this business's recording: " + st.error().message);
    }
    in.audio_uri = **uri;
    auto started = detail::str_field(*b, "started_at", true, 10, 32);
    if (!started) return std::unexpected(started.error());
    auto t = detail::parse_time(**started);
    if (!t) return invalid("started_at must be a UTC time like 2026-11-21T09:40:00Z");
    in.started_at = *t;
    auto dur = detail::int_field(*b, "duration_ms", 0, 86'400'000);
    if (!dur) return std::unexpected(dur.error());
    in.duration_ms = dur->value_or(0);
    auto ch = detail::int_field(*b, "channels", 1, 8);
    if (!ch) return std::unexpected(ch.error());
    in.channels = static_cast<int>(ch->value_or(1));
    for (auto [name, target, max] : {std::tuple{"language", &in.language, std::size_t{16}},
                                     std::tuple{"customer_phone", &in.customer_phone, std::size_t{32}},
                                     std::tuple{"customer_name", &in.customer_name, std::size_t{255}},
                                     std::tuple{"city", &in.city, std::size_t{128}},
                                     std::tuple{"issue_category", &in.issue_category, std::size_t{128}}}) {
      auto v = detail::str_field(*b, name, false, 0, max);
      if (!v) return std::unexpected(v.error());
      *target = v->value_or("");
    }
    if (b->contains("direction")) {
      const Json& d = (*b)["direction"];
      if (d == "inbound")
        in.direction = storage::CallDirection::kInbound;
      else if (d == "outbound")
        in.direction = storage::CallDirection::kOutbound;
      else if (d == "unknown")
        in.direction = storage::CallDirection::kUnknown;
      else
        return invalid("direction must be inbound|outbound|unknown");
    }
    if (b->contains("metadata")) {
      if (!(*b)["metadata"].is_object()) return invalid("metadata must be an object");
      in.metadata_json = (*b)["metadata"].dump();
    }
    const auto tenant = detail::tenant_of(req.caller_bid());
    auto& calls = s.repos.calls;
    auto up = calls.upsert(tenant, in);
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
  });

  router.add("GET", "/api/v1/calls/{id}", read, [&s](const Request& req) -> Result<Reply> {
    auto id = req.id_param("id");
    if (!id) return std::unexpected(id.error());
    const auto t = detail::tenant_of(req.caller_bid());
    // Two statements: the call with its transcript and metrics, then its lists (was seven).
    auto d = s.repos.call_details.detail(t, *id);
    if (!d) return std::unexpected(d.error());
    const storage::CallRecord* c = &d->call;
    const auto& m = d->metrics;
    // Written straight into the body; stored JSON (metadata, segments, outputs, spans) is
    // copied in as stored (json_writer.hpp).
    std::string body;
    const auto& tr = d->transcript;
    body.reserve(2048 + c->metadata_json.size() + (tr ? tr->segments_json.size() : 0));
    JsonWriter w(body);
    w.begin_object();
    write_call_fields(w, *c);
    w.key("metadata").raw(c->metadata_json);
    w.field("call_context", c->call_context);
    w.key("metrics");
    if (m) {
      write_metrics(w, *m);
    } else {
      w.null();
    }
    w.key("transcript");
    if (tr) {
      w.begin_object().field("language", tr->language).field("provider", tr->provider);
      w.key("segments").raw(tr->segments_json);
      w.end_object();
    } else {
      w.null();
    }
    w.key("analyses").begin_array();
    for (const auto& a : d->analyses) {
      w.begin_object().field("id", a.id).field("agent_config_id", a.agent_config_id);
      w.field("agent_version", a.agent_version);
      w.key("output").raw(a.output_json);
      w.field("model", a.model);
      w.key("created_at").timestamp(a.created_at);
      w.end_object();
    }
    w.end_array();
    w.key("categories").begin_array();
    for (const auto& m2 : d->categories) {
      w.begin_object().field("category_id", m2.category_id);
      w.key("spans").raw(m2.spans_json);
      w.end_object();
    }
    w.end_array();
    w.key("qa").begin_object().field("score", c->qa_score).end_object();
    w.key("escalations").begin_array();
    for (const auto& e : d->escalations) {
      w.begin_object().field("id", e.id).field("reason", e.reason).field("severity", e.severity);
      w.field("status", e.status);
      w.key("created_at").timestamp(e.created_at);
      w.key("resolved_at").timestamp(e.resolved_at);
      w.end_object();
    }
    w.end_array();
    w.key("notes").begin_array();
    for (const auto& n : d->notes) write_note(w, n);
    w.end_array();
    w.end_object();
    return Reply::text(std::move(body), "application/json");
  });

  router.add("GET", "/api/v1/calls/{id}/audio", read, [&s, objects](const Request& req) -> Result<Reply> {
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    if (!objects->owns(c->audio_uri)) {
      return make_error(ErrorCode::kNotFound, "this call's recording is not in the object store");
    }
    if (auto st = objects->owned_by(c->audio_uri, req.caller_bid()); !st) {
      log::warn("call names a recording outside its business's prefix; not streamed",
                {{"call_id", std::to_string(c->id)}, {"reason", st.error().message}});
      return make_error(ErrorCode::kPermissionDenied, "this call's recording is not under the business's prefix");
    }
    auto info = objects->stat(c->audio_uri);
    if (!info) {
      if (info.error().code == ErrorCode::kNotFound) return make_error(ErrorCode::kNotFound, "recording not found");
      return std::unexpected(objectstore::object_store_unavailable(info.error()));
    }
    const std::uint64_t size = info->size;
    Reply r;
    r.content_type = audio_type(c->audio_uri);
    r.headers.emplace_back("Accept-Ranges", "bytes");
    // Each piece is read from the store as it is sent (a Range request reads only its range).
    r.read_piece = [objects, uri = c->audio_uri](std::uint64_t offset, std::uint64_t length) {
      return objects->read_range(uri, offset, std::min<std::uint64_t>(length, 4ULL << 20));
    };
    r.object_size = size;
    const std::string range = req.header("Range");
    if (!range.empty()) {
      auto parsed = parse_range(range, size);
      if (!parsed) {
        Reply bad = Reply::text("", "", 416);
        bad.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
        return bad;
      }
      // Satisfiable (or several ranges, answered multipart): the listener slices the file.
      r.status = 206;
    }
    return r;
  });

  router.add("GET", "/api/v1/calls/{id}/transcript", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"format"}); !st) return std::unexpected(st.error());
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    auto& transcripts = s.repos.transcripts;
    auto tr = transcripts.get(detail::tenant_of(req.caller_bid()), c->id);
    if (!tr) {
      if (tr.error().code == ErrorCode::kNotFound) return make_error(ErrorCode::kNotFound, "no transcript yet");
      return std::unexpected(tr.error());
    }
    return export_transcript(*tr, req.query_param("format").value_or("json"), c->id);
  });

  router.add("GET", "/api/v1/calls/{id}/notes", read, [&s](const Request& req) -> Result<Reply> {
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    auto& notes = s.repos.notes;
    auto nl = notes.list_for_call(detail::tenant_of(req.caller_bid()), c->id);
    if (!nl) return std::unexpected(nl.error());
    Json items = Json::array();
    for (const auto& n : *nl) items.push_back(note_json(n));
    return Reply::ok(Json{{"items", items}});
  });
  router.add("POST", "/api/v1/calls/{id}/notes", analyst, [&s](const Request& req) -> Result<Reply> {
    auto b = req.json_body();
    if (!b) return std::unexpected(b.error());
    if (auto st = detail::only_fields(*b, {"body"}); !st) return std::unexpected(st.error());
    auto text = detail::str_field(*b, "body", true, 1, 10000);
    if (!text) return std::unexpected(text.error());
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    const auto t = detail::tenant_of(req.caller_bid());
    auto& notes = s.repos.notes;
    // A platform admin acting on the business is not one of its users: no author id.
    const auto author =
        req.principal->kind == Principal::Kind::kUser ? std::optional<storage::Id>(req.principal->id) : std::nullopt;
    auto id = notes.create(t, c->id, author, **text);
    if (!id) return std::unexpected(id.error());
    auto nl = notes.list_for_call(t, c->id);
    if (!nl) return std::unexpected(nl.error());
    for (const auto& n : *nl) {
      if (n.id == *id) return Reply::created(note_json(n));
    }
    return make_error(ErrorCode::kInternal, "created note not found");
  });
  router.add("DELETE", "/api/v1/calls/{id}/notes/{note_id}", analyst, [&s](const Request& req) -> Result<Reply> {
    auto note_id = req.id_param("note_id");
    if (!note_id) return std::unexpected(note_id.error());
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    const auto t = detail::tenant_of(req.caller_bid());
    auto& notes = s.repos.notes;
    auto nl = notes.list_for_call(t, c->id);
    if (!nl) return std::unexpected(nl.error());
    const storage::CallNote* note = nullptr;
    for (const auto& n : *nl) {
      if (n.id == *note_id) note = &n;
    }
    if (note == nullptr) return make_error(ErrorCode::kNotFound, "no such note");
    // Its author, or an admin of the business (or the platform), may delete a note.
    const Principal& who = *req.principal;
    const bool admin_caller = who.role == Role::kAdmin || who.role == Role::kPlatformAdmin;
    const bool author = who.kind == Principal::Kind::kUser && note->author_user_id == who.id;
    if (!admin_caller && !author) {
      return make_error(ErrorCode::kPermissionDenied, "only the note's author or an admin may delete it");
    }
    auto ok = notes.remove(t, *note_id);
    if (!ok) return std::unexpected(ok.error());
    return Reply::no_content();
  });

  router.add("DELETE", "/api/v1/calls/{id}", admin, [&s, objects](const Request& req) -> Result<Reply> {
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    // The recording goes first: when the store cannot delete it now (503), the call stays
    // and a retry deletes both; an absent object is already the wanted state.
    // Only an object under the call's own business prefix is removed; a foreign URI stored by
    // older code is left alone (and logged): deleting it would delete another business's data.
    if (objects->owns(c->audio_uri)) {
      if (auto own = objects->owned_by(c->audio_uri, req.caller_bid()); !own) {
        log::warn("call names a recording outside its business's prefix; the object is left alone",
                  {{"call_id", std::to_string(c->id)}, {"reason", own.error().message}});
      } else if (auto st = objects->remove(c->audio_uri); !st) {
        return std::unexpected(objectstore::object_store_unavailable(st.error()));
      }
    }
    auto& calls = s.repos.calls;
    auto ok = calls.remove(detail::tenant_of(req.caller_bid()), c->id);
    if (!ok) return std::unexpected(ok.error());
    if (!*ok) return make_error(ErrorCode::kNotFound, "no such call");
    publish_event(s, req.caller_bid(), "call.deleted", {{"call_id", c->id}});
    return Reply::no_content();
  });

  router.add("POST", "/api/v1/calls/{id}/reprocess", analyst, [&s](const Request& req) -> Result<Reply> {
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
    if (!*m) {
      return make_error(ErrorCode::kFailedPrecondition, *stage == ReprocessStage::kAnalyze
                                                            ? "the call has no transcript or is still being processed"
                                                            : "the call is still being processed or has no recording");
    }
    std::vector<queue::OutgoingMessage> msgs;
    msgs.push_back(std::move(**m));
    if (auto st = s.queues.publish(std::move(msgs)); !st) return std::unexpected(st.error());
    publish_event(s, t.bid(), "call.status",
                  {{"call_id", c->id},
                   {"status", *stage == ReprocessStage::kAnalyze ? "transcribed" : "pending"},
                   {"previous", storage::status_name(c->status)}});
    Reply r = Reply::ok(Json{{"id", c->id}, {"stage", (*b)["stage"]}, {"status", "queued"}});
    r.status = 202;
    return r;
  });

  // Every call matching the filters (the list's query parameters), up to `max`.
  router.add("POST", "/api/v1/calls/reprocess", analyst, [&s](const Request& req) -> Result<Reply> {
    auto b = req.json_body();
    if (!b) return std::unexpected(b.error());
    if (auto st = detail::only_fields(*b, {"stage", "max"}); !st) return std::unexpected(st.error());
    auto stage = parse_stage(*b);
    if (!stage) return std::unexpected(stage.error());
    auto max = detail::int_field(*b, "max", 1, 100000);
    if (!max) return std::unexpected(max.error());
    auto q = parse_filters(req, false);
    if (!q) return std::unexpected(q.error());
    if (auto st = detail::only_query(req, {"agent_id", "from", "to", "sentiment_min", "sentiment_max", "talk_ratio_min",
                                           "talk_ratio_max", "status", "category", "language", "city", "q"});
        !st) {
      return std::unexpected(st.error());
    }
    q->limit = 500;
    q->sort = storage::CallSort::kStartedAt;
    q->order = storage::SortOrder::kAsc;
    const auto t = detail::tenant_of(req.caller_bid());
    const std::int64_t limit = max->value_or(10000);
    auto& calls = s.repos.calls;
    std::int64_t queued = 0, skipped = 0;
    std::vector<queue::OutgoingMessage> batch;
    // Collect first, then reset: resetting changes the status a filter may be on.
    std::vector<storage::CallRecord> matched;
    for (;;) {
      auto page = calls.list(t, *q);
      if (!page) return std::unexpected(page.error());
      for (auto& c : page->calls) {
        if (static_cast<std::int64_t>(matched.size()) < limit) matched.push_back(std::move(c));
      }
      if (page->next_cursor.empty() || static_cast<std::int64_t>(matched.size()) >= limit) break;
      q->cursor = page->next_cursor;
    }
    for (const auto& c : matched) {
      auto m = reset_call(s, t, c, *stage);
      if (!m && m.error().code == ErrorCode::kInvalidArgument) {
        ++skipped;  // a recording outside the business's prefix (recording_owned)
        continue;
      }
      if (!m) return std::unexpected(m.error());
      if (!*m) {
        ++skipped;
        continue;
      }
      batch.push_back(std::move(**m));
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
  });
}

}  // namespace earshot::api

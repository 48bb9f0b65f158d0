// /api/v1/calls...: list, detail, audio, transcript export, notes, delete, reprocess, ingest.
#include <filesystem>

#include "earshot/api/gateway.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

namespace {

std::string_view direction_name(storage::CallDirection d) {
  switch (d) {
    case storage::CallDirection::kInbound: return "inbound";
    case storage::CallDirection::kOutbound: return "outbound";
    case storage::CallDirection::kUnknown: return "unknown";
  }
  return "unknown";
}

Json call_json(const storage::CallRecord& c) {
  return Json{{"id", c.id},
              {"external_id", c.external_id},
              {"human_agent_id", detail::opt(c.human_agent_id)},
              {"customer_phone", c.customer_phone},
              {"customer_name", c.customer_name},
              {"direction", direction_name(c.direction)},
              {"city", c.city},
              {"issue_category", c.issue_category},
              {"started_at", detail::iso(c.started_at)},
              {"duration_ms", c.duration_ms},
              {"channels", c.channels},
              {"language", c.language},
              {"status", storage::status_name(c.status)},
              {"failed_stage", c.failed_stage.empty() ? Json(nullptr) : Json(c.failed_stage)},
              {"failed_reason", c.failed_reason.empty() ? Json(nullptr) : Json(c.failed_reason)},
              {"attempts", c.attempts},
              {"agent_talk_ratio", detail::opt(c.agent_talk_ratio)},
              {"customer_sentiment", detail::opt(c.customer_sentiment)},
              {"qa_score", detail::opt(c.qa_score)},
              {"status_changed_at", detail::iso(c.status_changed_at)},
              {"created_at", detail::iso(c.created_at)}};
}

Json metrics_json(const storage::CallMetrics& m) {
  Json q_agent = Json::array();
  Json q_customer = Json::array();
  for (int i = 0; i < 4; ++i) {
    q_agent.push_back(detail::opt(m.agent_sentiment_q[i]));
    q_customer.push_back(detail::opt(m.customer_sentiment_q[i]));
  }
  return Json{{"source", m.source == storage::MetricsSource::kAudio ? "audio" : "transcript"},
              {"duration_ms", m.duration_ms},
              {"agent_talk_ms", m.agent_talk_ms},
              {"customer_talk_ms", m.customer_talk_ms},
              {"agent_talk_ratio", detail::opt(m.agent_talk_ratio)},
              {"agent_talk_pct_of_call", detail::opt(m.agent_talk_pct_of_call)},
              {"non_talk_ms", m.non_talk_ms},
              {"silences", detail::parsed(m.silences_json)},
              {"overtalk_ms", m.overtalk_ms},
              {"overtalk_count", m.overtalk_count},
              {"agent_interruptions", m.agent_interruptions},
              {"agent_interruption_ms", m.agent_interruption_ms},
              {"customer_interruptions", m.customer_interruptions},
              {"customer_interruption_ms", m.customer_interruption_ms},
              {"agent_loudness_mean_dbfs", detail::opt(m.agent_loudness_mean_dbfs)},
              {"agent_loudness_peak_dbfs", detail::opt(m.agent_loudness_peak_dbfs)},
              {"customer_loudness_mean_dbfs", detail::opt(m.customer_loudness_mean_dbfs)},
              {"customer_loudness_peak_dbfs", detail::opt(m.customer_loudness_peak_dbfs)},
              {"longest_monologue_ms", m.longest_monologue_ms},
              {"longest_customer_story_ms", m.longest_customer_story_ms},
              {"interactivity_per_min", detail::opt(m.interactivity_per_min)},
              {"patience_ms", detail::opt(m.patience_ms)},
              {"agent_wpm", detail::opt(m.agent_wpm)},
              {"customer_wpm", detail::opt(m.customer_wpm)},
              {"question_rate_per_hour", detail::opt(m.question_rate_per_hour)},
              {"agent_sentiment", detail::opt(m.agent_sentiment)},
              {"customer_sentiment", detail::opt(m.customer_sentiment)},
              {"agent_sentiment_quarters", q_agent},
              {"customer_sentiment_quarters", q_customer},
              {"sentiment_change", detail::opt(m.sentiment_change)}};
}

Json note_json(const storage::CallNote& n) {
  return Json{{"id", n.id},
              {"author_user_id", detail::opt(n.author_user_id)},
              {"body", n.body},
              {"created_at", detail::iso(n.created_at)}};
}

// Filters shared by the list and bulk reprocess. Every value is checked; nothing reaches SQL
// other than as a bound parameter.
Result<storage::CallListQuery> parse_filters(const Request& req, bool paging) {
  if (paging) {
    if (auto st = detail::only_query(req, {"agent_id", "from", "to", "sentiment_min", "sentiment_max",
                                            "talk_ratio_min", "talk_ratio_max", "status", "category",
                                            "language", "city", "q", "sort", "order", "limit", "cursor",
                                            "format"});
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
  for (const Range& r : {Range{"sentiment_min", -1, 1, &q.sentiment_min},
                         Range{"sentiment_max", -1, 1, &q.sentiment_max},
                         Range{"talk_ratio_min", 0, 1, &q.talk_ratio_min},
                         Range{"talk_ratio_max", 0, 1, &q.talk_ratio_max}}) {
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
    if (*s == "started_at") q.sort = storage::CallSort::kStartedAt;
    else if (*s == "duration") q.sort = storage::CallSort::kDuration;
    else if (*s == "sentiment") q.sort = storage::CallSort::kSentiment;
    else if (*s == "qa_score") q.sort = storage::CallSort::kQaScore;
    else return invalid("sort must be started_at|duration|sentiment|qa_score");
  }
  if (auto o = req.query_param("order")) {
    if (*o == "desc") q.order = storage::SortOrder::kDesc;
    else if (*o == "asc") q.order = storage::SortOrder::kAsc;
    else return invalid("order must be asc|desc");
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

Result<Reply> export_transcript(const storage::Transcript& tr, const std::string& format,
                                std::int64_t call_id) {
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
      out += fmt::format("[{}] {}: {}\n", clock_text(seg_ms(s, "start_ms"), '.'),
                         seg_text(s, "speaker"), seg_text(s, "text"));
    }
    r = Reply::text(out, "text/plain; charset=utf-8");
    r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.txt\"", base));
  } else if (format == "srt") {
    std::string out;
    int n = 0;
    for (const auto& s : segs) {
      out += fmt::format("{}\n{} --> {}\n{}: {}\n\n", ++n, clock_text(seg_ms(s, "start_ms"), ','),
                         clock_text(seg_ms(s, "end_ms"), ','), seg_text(s, "speaker"),
                         seg_text(s, "text"));
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
  storage::MySqlCallRepository calls(s.db);
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

std::string audio_format(const std::string& uri) {
  for (const char* f : {"mp3", "flac", "ogg"}) {
    if (uri.ends_with(std::string(".") + f)) return f;
  }
  return "wav";
}

queue::OutgoingMessage transcribe_message(const QueueControl& q, const std::string& bid,
                                          const storage::CallRecord& c) {
  queue::Envelope env;
  env.bid = bid;
  env.stage = queue::Stage::kTranscribe;
  env.trace_id = queue::new_message_id();
  Json audio{{"uri", c.audio_uri}, {"format", audio_format(c.audio_uri)}};
  if (c.channels >= 1 && c.channels <= 8) audio["channels"] = c.channels;
  Json body{{"schema_version", 1}, {"bid", bid}, {"call_id", std::to_string(c.id)}, {"audio", audio}};
  if (!c.language.empty()) body["language"] = c.language;
  return queue::make_stage_message(q.topology(), env, body.dump());
}

queue::OutgoingMessage analyze_message(const QueueControl& q, const std::string& bid,
                                       storage::Id call_id) {
  queue::Envelope env;
  env.bid = bid;
  env.stage = queue::Stage::kAnalyze;
  env.trace_id = queue::new_message_id();
  Json body{{"schema_version", 1},
            {"bid", bid},
            {"call_id", std::to_string(call_id)},
            {"transcript_id", std::to_string(call_id)}};
  return queue::make_stage_message(q.topology(), env, body.dump());
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
Result<std::optional<queue::OutgoingMessage>> reset_call(GatewayServices& s,
                                                         const storage::TenantId& t,
                                                         const storage::CallRecord& c,
                                                         ReprocessStage stage) {
  storage::MySqlCallRepository calls(s.db);
  if (stage == ReprocessStage::kAnalyze) {
    storage::MySqlTranscriptRepository transcripts(s.db);
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
    storage::MySqlCallRepository calls(s.db);
    auto page = calls.list(detail::tenant_of(req.caller_bid()), *q);
    if (!page) return std::unexpected(page.error());
    Json items = Json::array();
    for (const auto& c : page->calls) items.push_back(call_json(c));
    auto out = detail::list_reply(req, items,
                                  {"id", "external_id", "human_agent_id", "direction", "city", "issue_category",
                                   "started_at", "duration_ms", "language", "status", "agent_talk_ratio",
                                   "customer_sentiment", "qa_score"},
                                  "calls",
                                  Json{{"next_cursor", page->next_cursor.empty() ? Json(nullptr) : Json(page->next_cursor)}});
    if (out && out->raw && !page->next_cursor.empty()) out->headers.emplace_back("X-Next-Cursor", page->next_cursor);
    if (out && cacheable) s.list_cache->store(bid, cache_key, generation, *out);
    return out;
  });

  router.add("POST", "/api/v1/calls", ingest, [&s](const Request& req) -> Result<Reply> {
    auto b = req.json_body();
    if (!b) return std::unexpected(b.error());
    if (auto st = detail::only_fields(*b, {"external_id", "audio_uri", "started_at", "duration_ms",
                                           "channels", "language", "customer_phone", "customer_name",
                                           "direction", "city", "issue_category", "metadata"});
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
      return invalid("audio_uri must be a location in the object store: store://key, or s3://bucket/key in the "
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
      if (d == "inbound") in.direction = storage::CallDirection::kInbound;
      else if (d == "outbound") in.direction = storage::CallDirection::kOutbound;
      else if (d == "unknown") in.direction = storage::CallDirection::kUnknown;
      else return invalid("direction must be inbound|outbound|unknown");
    }
    if (b->contains("metadata")) {
      if (!(*b)["metadata"].is_object()) return invalid("metadata must be an object");
      in.metadata_json = (*b)["metadata"].dump();
    }
    const auto tenant = detail::tenant_of(req.caller_bid());
    storage::MySqlCallRepository calls(s.db);
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
    // Two statements for the call and its lists, one for the metrics (was seven).
    storage::MySqlCallRepository calls(s.db);
    auto d = calls.detail(t, *id);
    if (!d) return std::unexpected(d.error());
    const storage::CallRecord* c = &d->call;
    Json j = call_json(*c);
    j["metadata"] = detail::parsed(c->metadata_json);
    j["call_context"] = c->call_context;
    storage::MySqlMetricsRepository metrics(s.db);
    auto m = metrics.get(t, c->id);
    if (!m && m.error().code != ErrorCode::kNotFound) return std::unexpected(m.error());
    j["metrics"] = m ? metrics_json(*m) : Json(nullptr);
    const auto& tr = d->transcript;
    j["transcript"] = tr ? Json{{"language", tr->language},
                                {"provider", tr->provider},
                                {"segments", detail::parsed(tr->segments_json)}}
                         : Json(nullptr);
    Json aj = Json::array();
    for (const auto& a : d->analyses) {
      aj.push_back(Json{{"id", a.id},
                        {"agent_config_id", a.agent_config_id},
                        {"agent_version", a.agent_version},
                        {"output", detail::parsed(a.output_json)},
                        {"model", a.model},
                        {"created_at", detail::iso(a.created_at)}});
    }
    j["analyses"] = aj;
    Json cj = Json::array();
    for (const auto& m2 : d->categories) {
      cj.push_back(Json{{"category_id", m2.category_id}, {"spans", detail::parsed(m2.spans_json)}});
    }
    j["categories"] = cj;
    j["qa"] = Json{{"score", detail::opt(c->qa_score)}};
    Json ej = Json::array();
    for (const auto& e : d->escalations) {
      ej.push_back(Json{{"id", e.id},
                        {"reason", e.reason},
                        {"severity", e.severity},
                        {"status", e.status},
                        {"created_at", detail::iso(e.created_at)},
                        {"resolved_at", detail::iso_opt(e.resolved_at)}});
    }
    j["escalations"] = ej;
    Json nj = Json::array();
    for (const auto& n : d->notes) nj.push_back(note_json(n));
    j["notes"] = nj;
    return Reply::ok(j);
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
    storage::MySqlTranscriptRepository transcripts(s.db);
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
    storage::MySqlNoteRepository notes(s.db);
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
    storage::MySqlNoteRepository notes(s.db);
    // A platform admin acting on the business is not one of its users: no author id.
    const auto author = req.principal->kind == Principal::Kind::kUser ? std::optional<storage::Id>(req.principal->id)
                                                                      : std::nullopt;
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
    storage::MySqlNoteRepository notes(s.db);
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
    storage::MySqlCallRepository calls(s.db);
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
      return make_error(ErrorCode::kFailedPrecondition,
                        *stage == ReprocessStage::kAnalyze
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
    if (auto st = detail::only_query(req, {"agent_id", "from", "to", "sentiment_min", "sentiment_max",
                                            "talk_ratio_min", "talk_ratio_max", "status", "category",
                                            "language", "city", "q"});
        !st) {
      return std::unexpected(st.error());
    }
    q->limit = 500;
    q->sort = storage::CallSort::kStartedAt;
    q->order = storage::SortOrder::kAsc;
    const auto t = detail::tenant_of(req.caller_bid());
    const std::int64_t limit = max->value_or(10000);
    storage::MySqlCallRepository calls(s.db);
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

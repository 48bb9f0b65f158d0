// /api/v1/ingest/...: recordings pushed by multipart upload, transcripts, Twilio recording
// callbacks. The checks and the idempotent creation live in libs/ingest; this file maps HTTP
// to it and its refusals to 400 / 401 / 404 / 413 / 415 / 422.
#include <memory>

#include "earshot/api/gateway.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/ingest/twilio.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

namespace {

struct IngestState {
  std::unique_ptr<http::CurlHttpClient> own_http;
  std::shared_ptr<objectstore::ObjectStore> store;
  std::unique_ptr<ingest::Ingestor> ingestor;
  std::unique_ptr<ingest::twilio::CallbackHandler> twilio;
};

// 400 / 413 / 415 / 422 in the one error shape (other failures go through the dispatcher).
Reply refusal(const ingest::IngestError& e) {
  Reply r;
  r.status = e.http_status();
  r.json = Json{{"error", {{"code", e.code()}, {"message", e.error.message}}}};
  return r;
}

Result<Reply> answer(const ingest::IngestResult<ingest::Ingested>& r) {
  if (!r) {
    if (r.error().problem == ingest::Problem::kError) return std::unexpected(r.error().error);
    return refusal(r.error());
  }
  const auto& c = r->call;
  const auto& media = r->media;
  Json j{{"id", c.id},
         {"external_id", c.external_id},
         {"status", storage::status_name(c.status)},
         {"created", r->created},
         {"started_at", detail::iso(c.started_at)},
         {"duration_ms", c.duration_ms},
         {"channels", c.channels},
         {"media", media ? media->to_json() : Json(nullptr)}};
  Reply out = r->created ? Reply::created(std::move(j)) : Reply::ok(std::move(j));
  out.headers.emplace_back("Location", "/api/v1/calls/" + std::to_string(c.id));
  return out;
}

// The metadata fields both upload routes take, from strings (multipart fields or JSON).
Status set_field(ingest::CallMetadata& m, const std::string& name, const std::string& value) {
  if (name == "external_id")
    m.external_id = value;
  else if (name == "agent_id")
    m.agent_id = value;
  else if (name == "agent_name")
    m.agent_name = value;
  else if (name == "customer_phone")
    m.customer_phone = value;
  else if (name == "customer_name")
    m.customer_name = value;
  else if (name == "language")
    m.language = value;
  else if (name == "city")
    m.city = value;
  else if (name == "issue_category")
    m.issue_category = value;
  else if (name == "call_context")
    m.call_context = value;
  else if (name == "note")
    m.note = value;
  else if (name == "started_at") {
    auto t = detail::parse_time(value);
    if (!t) return invalid("started_at must be a UTC time like 2026-11-21T09:40:00Z");
    m.started_at = *t;
  } else if (name == "direction") {
    if (value == "inbound")
      m.direction = storage::CallDirection::kInbound;
    else if (value == "outbound")
      m.direction = storage::CallDirection::kOutbound;
    else if (value == "unknown")
      m.direction = storage::CallDirection::kUnknown;
    else
      return invalid("direction must be inbound|outbound|unknown");
  } else if (name == "metadata") {
    auto j = Json::parse(value, nullptr, false);
    if (!j.is_object()) return invalid("metadata must be a JSON object");
    m.extra = std::move(j);
  } else {
    return invalid(fmt::format("unknown field '{}'", name));
  }
  return {};
}

}  // namespace

void add_ingest_routes(Router& router, GatewayServices& s) {
  auto state = std::make_shared<IngestState>();
  http::HttpClient* client = s.http;
  if (client == nullptr) {
    state->own_http = std::make_unique<http::CurlHttpClient>();
    client = state->own_http.get();
  }
  (void)object_store_of(s);
  state->store = s.object_store;
  QueueControl& queues = s.queues;
  // New calls appear on the business's live event stream (call.status, previous null).
  std::function<void(const std::string&, const Json&)> on_created;
  if (EventHub* hub = s.events; hub != nullptr) {
    on_created = [hub](const std::string& bid, const Json& data) {
      (void)hub->events().publish(bid, "call.status", data);
    };
  }
  state->ingestor = std::make_unique<ingest::Ingestor>(
      ingest::IngestorDeps{s.repos.calls, s.repos.transcripts, s.repos.notes, s.repos.human_agents,
                           s.repos.pipeline_configs, *state->store,
                           [&queues](std::vector<queue::OutgoingMessage> m) { return queues.publish(std::move(m)); },
                           queues.topology(), s.clock, s.metrics, std::move(on_created)},
      s.ingest);
  state->twilio = std::make_unique<ingest::twilio::CallbackHandler>(s.repos.businesses, s.repos.pipeline_configs,
                                                                    s.repos.calls, *client, *state->ingestor);

  Policy ingest;
  ingest.min_role = Role::kAdmin;
  ingest.api_key_scope = "ingest";

  router.add("POST", "/api/v1/ingest/calls", ingest, [state](const Request& req) -> Result<Reply> {
    if (req.parts.empty()) {
      Reply r;
      r.status = 415;
      r.json = Json{{"error",
                     {{"code", "unsupported_media_type"},
                      {"message", "send multipart/form-data with the recording in the 'audio' part"}}}};
      return r;
    }
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    ingest::CallMetadata meta;
    meta.source = "upload";
    const FormPart* audio = nullptr;
    for (const auto& p : req.parts) {
      if (p.name == "audio" || p.name == "file") {
        if (audio != nullptr) return invalid("send exactly one recording ('audio' part)");
        audio = &p;
        continue;
      }
      if (!p.filename.empty()) return invalid(fmt::format("part '{}' must be a field, not a file", p.name));
      if (auto st = set_field(meta, p.name, p.content); !st) return std::unexpected(st.error());
    }
    if (audio == nullptr) return invalid("the recording is missing: send it in the 'audio' part");
    const auto tenant = detail::tenant_of(req.caller_bid());
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(audio->content.data()),
                                              audio->content.size());
    return answer(state->ingestor->ingest_audio(tenant, meta, bytes));
  });

  router.add("POST", "/api/v1/ingest/transcripts", ingest, [state](const Request& req) -> Result<Reply> {
    auto b = req.json_body();
    if (!b) return std::unexpected(b.error());
    ingest::CallMetadata meta;
    meta.source = "upload";
    std::string provider = "upload";
    std::optional<std::vector<stt::Segment>> segments;
    for (const auto& [k, v] : b->items()) {
      if (k == "segments") {
        auto parsed = ingest::parse_segments(v);
        if (!parsed) return std::unexpected(parsed.error());
        segments = std::move(*parsed);
      } else if (k == "provider") {
        if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 64) {
          return invalid("provider must be 1-64 characters");
        }
        provider = v.get<std::string>();
      } else if (k == "metadata") {
        if (!v.is_object()) return invalid("metadata must be an object");
        meta.extra = v;
      } else if (v.is_null()) {
        continue;
      } else if (!v.is_string()) {
        return invalid(fmt::format("{} must be a string", k));
      } else if (auto st = set_field(meta, k, v.get<std::string>()); !st) {
        return std::unexpected(st.error());
      }
    }
    if (!segments) return invalid("segments is required");
    const auto tenant = detail::tenant_of(req.caller_bid());
    return answer(state->ingestor->ingest_transcript(tenant, meta, *segments, provider));
  });

  Policy pub;
  pub.public_route = true;  // authenticated by X-Twilio-Signature
  const std::string public_url = s.ingest.public_url;
  router.add("POST", "/api/v1/ingest/twilio/{bid}", pub, [state, public_url](const Request& req) -> Result<Reply> {
    ingest::twilio::CallbackRequest cb;
    cb.bid = req.path_params.at("bid");
    std::string base = public_url;
    while (base.ends_with('/')) base.pop_back();
    if (base.empty()) base = "http://" + req.header("Host");
    cb.url = base + (req.target.empty() ? req.path : req.target);
    cb.signature = req.header("X-Twilio-Signature");
    cb.body = req.body;
    auto r = state->twilio->handle(cb);
    if (!r) {
      if (r.error().problem == ingest::Problem::kError) return std::unexpected(r.error().error);
      return refusal(r.error());
    }
    if (r->ignored) return Reply::ok(Json{{"ignored", true}, {"reason", r->reason}});
    return answer(ingest::IngestResult<ingest::Ingested>(std::move(*r->ingested)));
  });
}

}  // namespace earshot::api

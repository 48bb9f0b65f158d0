#include "earshot/queue/messages.hpp"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "schema_internal.hpp"

namespace earshot::queue {

namespace {

using nlohmann::json;

// The body as JSON once it matched `<type>.v<version>.schema.json`; errors start with
// "<type> message: ".
Result<json> checked(std::string_view type, int version, std::string_view body) {
  auto bad = [&](std::string_view what) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} message: {}", type, what));
  };
  auto v = detail::parse_body(body);
  if (!v) return bad(v.error().message);
  if (!v->is_object()) return bad("$: must be of type object");
  auto sv = v->find("schema_version");
  if (sv == v->end()) return bad("$.schema_version: required");
  if (!sv->is_number_integer()) return bad("$.schema_version: must be of type integer");
  if (*sv != version) {
    return bad(fmt::format("$.schema_version: {} is an unknown schema version", sv->dump()));
  }
  if (auto st = detail::validate_json(fmt::format("{}.v{}.schema.json", type, version), *v); !st) {
    return bad(st.error().message);
  }
  return std::move(*v);
}

std::optional<std::string> opt_string(const json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<int> opt_int(const json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  return it->get<int>();
}

json head(int version, const std::string& bid, const std::string& call_id) {
  return json{{"schema_version", version}, {"bid", bid}, {"call_id", call_id}};
}

constexpr std::pair<BusinessEventType, std::string_view> kEventTypes[] = {
    {BusinessEventType::kRegistered, "business_registered"},
    {BusinessEventType::kEnabled, "business_enabled"},
    {BusinessEventType::kDisabled, "business_disabled"},
};

// "YYYY-MM-DDTHH:MM:SS[.fff]Z", as format_utc writes it, in years kFirstYear..kLastYear:
// system_clock counts nanoseconds in 64 bits (years 1678-2261), so a year like 1012 would
// overflow the conversion.
constexpr int kFirstYear = 1970;
constexpr int kLastYear = 2200;
std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view s) {
  if (s.size() != 20 && s.size() != 24) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z') {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t len) -> std::optional<int> {
    int n = 0;
    const char* first = s.data() + at;
    auto [p, ec] = std::from_chars(first, first + len, n);
    if (ec != std::errc() || p != first + len) return std::nullopt;
    return n;
  };
  auto y = number(0, 4), mo = number(5, 2), d = number(8, 2);
  auto h = number(11, 2), mi = number(14, 2), sec = number(17, 2);
  std::optional<int> ms = 0;
  if (s.size() == 24) ms = s[19] == '.' ? number(20, 3) : std::nullopt;
  if (!y || !mo || !d || !h || !mi || !sec || !ms || *y < kFirstYear || *y > kLastYear || *h > 23 || *mi > 59 ||
      *sec > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(*h) + std::chrono::minutes(*mi) + std::chrono::seconds(*sec) +
         std::chrono::milliseconds(*ms);
}

}  // namespace

std::string audio_format_of(std::string_view uri_or_name) {
  const auto path = uri_or_name.substr(0, uri_or_name.find_first_of("?#"));
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || path.find('/', dot) != std::string_view::npos) return "wav";
  std::string ext;
  for (char c : path.substr(dot + 1)) ext += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "mp3" || ext == "flac" || ext == "ogg" || ext == "wav") return ext;
  return "wav";
}

// ---------------------------------------------------------------------------- sync

std::string SyncRequest::to_json() const {
  json j = head(kSchemaVersion, bid, call_id);
  json src{{"provider", source.provider}, {"external_id", source.external_id}};
  if (source.recording_url) src["recording_url"] = *source.recording_url;
  j["source"] = std::move(src);
  if (requested_at) j["requested_at"] = *requested_at;
  return j.dump();
}

Result<SyncRequest> SyncRequest::parse(std::string_view body) {
  auto j = checked("sync", kSchemaVersion, body);
  if (!j) return std::unexpected(j.error());
  const auto& src = (*j)["source"];
  return SyncRequest{.bid = (*j)["bid"].get<std::string>(),
                     .call_id = (*j)["call_id"].get<std::string>(),
                     .source = {.provider = src["provider"].get<std::string>(),
                                .external_id = src["external_id"].get<std::string>(),
                                .recording_url = opt_string(src, "recording_url")},
                     .requested_at = opt_string(*j, "requested_at")};
}

// ---------------------------------------------------------------------------- transcribe

TranscribeRequest TranscribeRequest::for_call(std::string bid, std::int64_t call_id, std::string audio_uri,
                                              int channels, std::string language) {
  TranscribeRequest r{.bid = std::move(bid), .call_id = std::to_string(call_id)};
  r.audio.format = audio_format_of(audio_uri);
  r.audio.uri = std::move(audio_uri);
  if (channels >= 1 && channels <= 8) r.audio.channels = channels;
  if (!language.empty()) r.language = std::move(language);
  return r;
}

std::string TranscribeRequest::to_json() const {
  json j = head(kSchemaVersion, bid, call_id);
  json a{{"uri", audio.uri}, {"format", audio.format}};
  if (audio.sample_rate) a["sample_rate"] = *audio.sample_rate;
  if (audio.channels) a["channels"] = *audio.channels;
  j["audio"] = std::move(a);
  if (language) j["language"] = *language;
  return j.dump();
}

Result<TranscribeRequest> TranscribeRequest::parse(std::string_view body) {
  auto j = checked("transcribe", kSchemaVersion, body);
  if (!j) return std::unexpected(j.error());
  const auto& a = (*j)["audio"];
  return TranscribeRequest{.bid = (*j)["bid"].get<std::string>(),
                           .call_id = (*j)["call_id"].get<std::string>(),
                           .audio = {.uri = a["uri"].get<std::string>(),
                                     .format = a["format"].get<std::string>(),
                                     .sample_rate = opt_int(a, "sample_rate"),
                                     .channels = opt_int(a, "channels")},
                           .language = opt_string(*j, "language")};
}

// ---------------------------------------------------------------------------- analyze

AnalyzeRequest AnalyzeRequest::for_call(std::string bid, std::int64_t call_id) {
  return AnalyzeRequest{
      .bid = std::move(bid), .call_id = std::to_string(call_id), .transcript_id = std::to_string(call_id)};
}

std::string AnalyzeRequest::to_json() const {
  json j = head(kSchemaVersion, bid, call_id);
  j["transcript_id"] = transcript_id;
  if (analyses) j["analyses"] = *analyses;
  return j.dump();
}

Result<AnalyzeRequest> AnalyzeRequest::parse(std::string_view body) {
  auto j = checked("analyze", kSchemaVersion, body);
  if (!j) return std::unexpected(j.error());
  AnalyzeRequest r{.bid = (*j)["bid"].get<std::string>(),
                   .call_id = (*j)["call_id"].get<std::string>(),
                   .transcript_id = (*j)["transcript_id"].get<std::string>()};
  if (auto it = j->find("analyses"); it != j->end()) r.analyses = it->get<std::vector<std::string>>();
  return r;
}

// ---------------------------------------------------------------------------- notify

std::string_view notify_event_name(NotifyEvent event) {
  return event == NotifyEvent::kCallFailed ? "call.failed" : "call.analyzed";
}

std::string NotifyRequest::to_json() const {
  json j = head(kSchemaVersion, bid, call_id);
  j["event"] = notify_event_name(event);
  if (analysis_id) j["analysis_id"] = *analysis_id;
  return j.dump();
}

Result<NotifyRequest> NotifyRequest::parse(std::string_view body) {
  auto j = checked("notify", kSchemaVersion, body);
  if (!j) return std::unexpected(j.error());
  // The schema's enum admits exactly the two names.
  const auto event = (*j)["event"].get<std::string>();
  return NotifyRequest{.bid = (*j)["bid"].get<std::string>(),
                       .call_id = (*j)["call_id"].get<std::string>(),
                       .event = event == notify_event_name(NotifyEvent::kCallFailed) ? NotifyEvent::kCallFailed
                                                                                     : NotifyEvent::kCallAnalyzed,
                       .analysis_id = opt_string(*j, "analysis_id")};
}

// ---------------------------------------------------------------------------- embed

std::string_view embed_kind_name(EmbedKind kind) {
  return kind == EmbedKind::kReembed ? "reembed" : "document";
}

EmbedRequest EmbedRequest::for_document(std::string bid, std::int64_t document_id, std::int64_t version) {
  return EmbedRequest{
      .bid = std::move(bid), .kind = EmbedKind::kDocument, .id = std::to_string(document_id), .version = version};
}

std::string EmbedRequest::to_json() const {
  json j{{"schema_version", kSchemaVersion}, {"bid", bid}, {"kind", embed_kind_name(kind)}, {"id", id}};
  if (version) j["version"] = *version;
  if (after) j["after"] = *after;
  if (call) j["call"] = *call;
  return j.dump();
}

Result<EmbedRequest> EmbedRequest::parse(std::string_view body) {
  auto j = checked("embed", kSchemaVersion, body);
  if (!j) return std::unexpected(j.error());
  EmbedRequest r{.bid = (*j)["bid"].get<std::string>(),
                 .kind = (*j)["kind"].get<std::string>() == embed_kind_name(EmbedKind::kReembed) ? EmbedKind::kReembed
                                                                                                 : EmbedKind::kDocument,
                 .id = (*j)["id"].get<std::string>()};
  if (auto it = j->find("version"); it != j->end()) r.version = it->get<std::int64_t>();
  if (auto it = j->find("after"); it != j->end()) r.after = it->get<std::int64_t>();
  if (auto it = j->find("call"); it != j->end()) r.call = it->get<std::int64_t>();
  return r;
}

// ---------------------------------------------------------------------------- control

std::string BusinessEvent::to_json() const {
  std::string_view name = "business_enabled";
  for (const auto& [t, n] : kEventTypes) {
    if (t == type) name = n;
  }
  json j{{"schema_version", kSchemaVersion}, {"type", name}, {"bid", bid}, {"at", format_utc(at)}};
  return j.dump();
}

Result<BusinessEvent> BusinessEvent::parse(std::string_view body) {
  auto j = checked("control", kSchemaVersion, body);
  if (!j) return std::unexpected(j.error());
  BusinessEvent e;
  const auto type = (*j)["type"].get<std::string>();
  for (const auto& [t, n] : kEventTypes) {
    if (n == type) e.type = t;  // the schema's enum admits only these names
  }
  e.bid = (*j)["bid"].get<std::string>();
  const auto at = (*j)["at"].get<std::string>();
  auto when = parse_utc(at);
  if (!when) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("control message: $.at: '{}' is not a UTC time YYYY-MM-DDTHH:MM:SS[.fff]Z of years {}-{}", at,
                    kFirstYear, kLastYear));
  }
  e.at = *when;
  return e;
}

}  // namespace earshot::queue

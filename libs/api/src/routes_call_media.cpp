// /api/v1/calls/{id}/audio (the recording, streamed from the object store, with byte ranges;
// with credentials or a signed link from POST .../audio-url) and /api/v1/calls/{id}/transcript
// (export as json, txt, srt or csv). A caller without pii:read of a business that redacts gets
// the redacted transcript and the recording's redacted copy (pii_access.hpp). Pieces of
// add_call_routes.
#include <charconv>

#include "earshot/api/audio_link.hpp"
#include "earshot/api/gateway.hpp"
#include "earshot/core/json_ms.hpp"
#include "earshot/core/log.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/pipeline/redaction.hpp"
#include "earshot/storage/transcript_repository.hpp"
#include "pii_access.hpp"
#include "route_util.hpp"
#include "routes_calls.hpp"

namespace earshot::api::calls {

using detail::invalid;

namespace {

std::string clock_text(std::int64_t ms, char frac_sep) {
  const auto h = ms / 3'600'000;
  const auto m = (ms / 60'000) % 60;
  const auto sec = (ms / 1000) % 60;
  return fmt::format("{:02}:{:02}:{:02}{}{:03}", h, m, sec, frac_sep, ms % 1000);
}

// One CSV field: quoted when it holds a separator, a quote or a line break; a leading
// = + - @ is prefixed with ' so spreadsheets do not read it as a formula.
std::string csv_field(std::string v) {
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v.insert(0, 1, '\'');
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// `redact`: the redacted segments (stored, or made now) and the full text joined from them.
Result<Reply> export_transcript(const storage::Transcript& tr, const std::string& format, std::int64_t call_id,
                                bool redact) {
  Json segs = detail::parsed(redact ? detail::redacted_segments(tr) : tr.segments_json);
  if (!segs.is_array()) segs = Json::array();
  auto seg_text = [](const Json& s, const char* k) -> std::string {
    auto it = s.find(k);
    return it != s.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto seg_ms = [](const Json& s, const char* k) -> std::int64_t { return json_ms(s, k, 0); };
  Reply r;
  const std::string base = fmt::format("call-{}-transcript", call_id);
  if (format == "json") {
    std::string text = tr.full_text;
    if (redact) {
      text.clear();
      for (const auto& s : segs) {
        if (!text.empty()) text += '\n';
        text += seg_text(s, "text");
      }
    }
    r = Reply::ok(Json{{"call_id", call_id},
                       {"language", tr.language},
                       {"provider", tr.provider},
                       {"segments", segs},
                       {"text", text}});
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
  } else if (format == "csv") {
    std::string out = "start_ms,end_ms,speaker,text\r\n";
    for (const auto& s : segs) {
      out += fmt::format("{},{},{},{}\r\n", seg_ms(s, "start_ms"), seg_ms(s, "end_ms"),
                         csv_field(seg_text(s, "speaker")), csv_field(seg_text(s, "text")));
    }
    r = Reply::text(out, "text/csv; charset=utf-8");
    r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.csv\"", base));
  } else {
    return invalid("format must be json|txt|srt|csv");
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

// The recording a caller who must not read personal data may hear: the redacted copy the
// analyze stage made from the call's current transcript. 409 while there is none (never the
// raw recording).
Result<std::string> redacted_recording(GatewayServices& s, const Request& req, const storage::CallRecord& c) {
  auto tr = s.repos.transcripts.get(detail::tenant_of(req.caller_bid()), c.id);
  if (!tr && tr.error().code != ErrorCode::kNotFound) return std::unexpected(tr.error());
  if (!tr || tr->redacted_audio_uri.empty() || !tr->redaction_current) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "the redacted copy of this recording is not made yet (it is made when the call is analysed)");
  }
  return tr->redacted_audio_uri;
}

Result<Reply> stream_audio(GatewayServices& s, const std::shared_ptr<objectstore::ObjectStore>& objects,
                           const Request& req) {
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
  auto redact = detail::must_redact(s, req);
  if (!redact) return std::unexpected(redact.error());
  if (*redact) {
    auto uri = redacted_recording(s, req, *c);
    if (!uri) return std::unexpected(uri.error());
    // The copy is checked like the recording: under the business's own prefix.
    if (!objects->owns(*uri) || !objects->owned_by(*uri, req.caller_bid())) {
      log::warn("redacted copy outside the business's prefix; not streamed", {{"call_id", std::to_string(c->id)}});
      return make_error(ErrorCode::kPermissionDenied,
                        "this call's redacted recording is not under the business's prefix");
    }
    c->audio_uri = *uri;
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
}

// POST /api/v1/calls/{id}/audio-url: a link to the recording for <audio src>, signed for this
// business and call, valid AudioLinkSigner::kLifetime.
Result<Reply> audio_url(GatewayServices& s, const std::shared_ptr<objectstore::ObjectStore>& objects,
                        const Request& req) {
  if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
  auto c = own_call(s, req);
  if (!c) return std::unexpected(c.error());
  if (c->audio_uri.empty() || !objects->owns(c->audio_uri)) {
    return make_error(ErrorCode::kNotFound, "this call has no recording");
  }
  const std::string& bid = req.caller_bid();
  // A caller who may read personal data gets a link that plays the raw recording; anyone
  // else's link plays what they would hear (the redacted copy where the business redacts).
  const bool pii = req.principal && detail::may_read_pii(*req.principal);
  auto link = AudioLinkSigner(audio_link_key(s.keys), s.clock).sign(bid, c->id, pii);
  if (!link) return std::unexpected(link.error());
  const auto expires = storage::Timestamp(std::chrono::seconds(link->exp));
  return Reply::ok(Json{{"url", fmt::format("/api/v1/calls/{}/audio?bid={}&exp={}&sig={}{}", c->id, bid, link->exp,
                                            link->sig, pii ? "&pii=1" : "")},
                        {"expires_at", detail::iso(expires)}});
}

// The caller a signed link stands for: the business it names, for this call only.
Result<Principal> link_caller(GatewayServices& s, const Request& req) {
  const Error bad(ErrorCode::kUnauthenticated, "audio link invalid");
  auto id = req.id_param("id");
  const auto bid = req.query_param("bid").value_or("");
  if (!id || !storage::TenantId::make(bid)) return std::unexpected(bad);
  // pii=1 marks a link signed for a caller with pii:read (any other value is no link).
  const auto pii = req.query_param("pii");
  if (pii && *pii != "1") return std::unexpected(bad);
  const AudioLinkSigner signer(audio_link_key(s.keys), s.clock);
  if (auto st = signer.verify(bid, *id, req.query_param("exp").value_or(""), req.query_param("sig").value_or(""),
                              pii.has_value());
      !st) {
    return std::unexpected(st.error());
  }
  // A business disabled since the link was made: its links end with it.
  if (auto st = s.auth.business_for_admin(bid); !st) {
    if (st.error().code == ErrorCode::kNotFound || st.error().code == ErrorCode::kInvalidArgument) {
      return std::unexpected(bad);
    }
    return std::unexpected(st.error());
  }
  Principal p;
  p.kind = Principal::Kind::kSignedLink;
  p.id = *id;
  p.bid = bid;
  p.role = Role::kViewer;
  if (pii) p.scopes.emplace_back(detail::kPiiReadScope);
  return p;
}

}  // namespace

void add_call_audio_routes(Router& router, GatewayServices& s, const CallPolicies& p) {
  Policy audio = p.read;
  audio.signed_link = [&s](const Request& req) { return link_caller(s, req); };
  router.add("GET", "/api/v1/calls/{id}/audio", audio,
             [&s, objects = s.object_store](const Request& req) { return stream_audio(s, objects, req); });
  Policy sign = p.read;
  sign.read_only = true;  // makes a link, changes nothing
  router.add("POST", "/api/v1/calls/{id}/audio-url", sign,
             [&s, objects = s.object_store](const Request& req) { return audio_url(s, objects, req); });
}

void add_call_transcript_routes(Router& router, GatewayServices& s, const CallPolicies& p) {
  router.add("GET", "/api/v1/calls/{id}/transcript", p.read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"format"}); !st) return std::unexpected(st.error());
    auto redact = detail::must_redact(s, req);
    if (!redact) return std::unexpected(redact.error());
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    auto& transcripts = s.repos.transcripts;
    auto tr = transcripts.get(detail::tenant_of(req.caller_bid()), c->id);
    if (!tr) {
      if (tr.error().code == ErrorCode::kNotFound) return make_error(ErrorCode::kNotFound, "no transcript yet");
      return std::unexpected(tr.error());
    }
    return export_transcript(*tr, req.query_param("format").value_or("json"), c->id, *redact);
  });
}

}  // namespace earshot::api::calls

#include "earshot/ingest/twilio.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>

#include "earshot/core/log.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::ingest::twilio {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        return make_error(ErrorCode::kInvalidArgument, "malformed %-escape in the form");
      }
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return make_error(ErrorCode::kInvalidArgument, "malformed %-escape in the form");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

const std::string* find(const Params& p, std::string_view name) {
  for (const auto& [k, v] : p) {
    if (k == name) return &v;
  }
  return nullptr;
}

IngestError refused(Problem p, ErrorCode code, std::string msg) {
  return IngestError{p, Error(code, std::move(msg))};
}

}  // namespace

Result<Params> parse_form(std::string_view body) {
  Params out;
  std::size_t i = 0;
  while (i < body.size()) {
    auto amp = body.find('&', i);
    if (amp == std::string_view::npos) amp = body.size();
    const auto item = body.substr(i, amp - i);
    i = amp + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    auto name = form_decode(item.substr(0, eq));
    if (!name) return std::unexpected(name.error());
    auto value = form_decode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    if (!value) return std::unexpected(value.error());
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::string signature(std::string_view auth_token, std::string_view url, Params params) {
  // Sorted by name (then value, for repeated names), as Twilio's helper libraries do.
  std::sort(params.begin(), params.end());
  std::string data(url);
  for (const auto& [k, v] : params) {
    data += k;
    data += v;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

bool verify(std::string_view auth_token, std::string_view url, const Params& params, std::string_view header) {
  if (header.empty() || auth_token.empty()) return false;
  return crypto::constant_time_equal(signature(auth_token, url, params), header);
}

Result<Recording> parse_recording(const Params& p) {
  Recording r;
  for (auto [name, target] : {std::pair{"AccountSid", &r.account_sid}, std::pair{"RecordingSid", &r.recording_sid},
                              std::pair{"RecordingStatus", &r.status}}) {
    const auto* v = find(p, name);
    if (v == nullptr || v->empty()) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{} is missing from the callback", name));
    }
    *target = *v;
  }
  if (const auto* v = find(p, "CallSid")) r.call_sid = *v;
  if (const auto* v = find(p, "RecordingUrl")) r.recording_url = *v;
  if (const auto* v = find(p, "RecordingDuration")) {
    std::int64_t d = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
    if (ec == std::errc() && ptr == v->data() + v->size() && d >= 0) r.duration_s = d;
  }
  if (const auto* v = find(p, "RecordingChannels")) {
    int c = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), c);
    if (ec == std::errc() && ptr == v->data() + v->size() && c > 0) r.channels = c;
  }
  for (char c : r.recording_sid) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
      return make_error(ErrorCode::kInvalidArgument, "RecordingSid must be alphanumeric");
    }
  }
  if (r.recording_sid.size() > 64) return make_error(ErrorCode::kInvalidArgument, "RecordingSid is too long");
  return r;
}

IngestResult<CallbackOutcome> CallbackHandler::handle(const CallbackRequest& req) {
  auto tenant = storage::TenantId::make(req.bid);
  if (!tenant) return std::unexpected(refused(Problem::kError, ErrorCode::kNotFound, "no such business"));
  auto business = businesses_.get(*tenant);
  if (!business) {
    if (business.error().code == ErrorCode::kNotFound) {
      return std::unexpected(refused(Problem::kError, ErrorCode::kNotFound, "no such business"));
    }
    return std::unexpected(IngestError{Problem::kError, business.error()});
  }
  auto config = configs_.get(*tenant);
  if (!config && config.error().code != ErrorCode::kNotFound) {
    return std::unexpected(IngestError{Problem::kError, config.error()});
  }
  std::string token;
  if (config) {
    if (auto it = config->secrets.find("twilio_auth_token"); it != config->secrets.end()) token = it->second;
  }
  if (token.empty()) {
    return std::unexpected(
        refused(Problem::kError, ErrorCode::kNotFound, "Twilio callbacks are not configured for this business"));
  }
  auto params = parse_form(req.body);
  if (!params) return std::unexpected(IngestError{Problem::kInvalid, params.error()});
  if (!verify(token, req.url, *params, req.signature)) {
    log::warn("Twilio callback with a bad signature", {{"bid", req.bid}});
    return std::unexpected(refused(Problem::kError, ErrorCode::kUnauthenticated, "X-Twilio-Signature does not match"));
  }
  if (business->status != storage::BusinessStatus::kActive) {
    return std::unexpected(refused(Problem::kError, ErrorCode::kFailedPrecondition, "the business is disabled"));
  }
  auto rec = parse_recording(*params);
  if (!rec) return std::unexpected(IngestError{Problem::kInvalid, rec.error()});
  if (rec->status != "completed") {
    return CallbackOutcome{true, fmt::format("recording status '{}' is not completed", rec->status), std::nullopt};
  }
  if (!rec->recording_url.starts_with("https://") && !rec->recording_url.starts_with("http://")) {
    return std::unexpected(
        IngestError{Problem::kInvalid, Error(ErrorCode::kInvalidArgument, "RecordingUrl must be an http(s) URL")});
  }

  CallMetadata meta;
  meta.external_id = "twilio-" + rec->recording_sid;
  meta.source = "twilio";
  meta.extra = nlohmann::json{{"twilio",
                               {{"account_sid", rec->account_sid},
                                {"call_sid", rec->call_sid},
                                {"recording_sid", rec->recording_sid},
                                {"recording_duration_s", rec->duration_s}}}};
  // A repeated callback answers with the existing call and downloads nothing.
  if (auto found = calls_.find_by_external_id(*tenant, meta.external_id); found) {
    auto r = ingestor_.ingest_audio(*tenant, meta, {});
    if (!r) return std::unexpected(r.error());
    return CallbackOutcome{false, "", std::move(*r)};
  }

  const auto& limits = ingestor_.settings();
  http::HttpRequest get;
  get.url = rec->recording_url;
  get.timeout = limits.fetch_timeout;
  get.max_response_bytes = static_cast<std::uint64_t>(limits.max_audio_bytes);
  get.follow_redirects = true;
  get.address_policy = limits.fetch_policy;  // the gateway's egress policy
  get.add_header("Authorization", "Basic " + crypto::base64_encode(rec->account_sid + ":" + token));
  auto res = client_.send_sync(std::move(get));
  if (!res) {
    const auto code = res.error().code;
    if (code == ErrorCode::kInvalidArgument) {
      return std::unexpected(refused(Problem::kTooLarge, code,
                                     fmt::format("the recording cannot be downloaded: {}", res.error().message)));
    }
    if (code == ErrorCode::kPermissionDenied) {
      // The tenant is told the documented refusal, never which range or port matched; the
      // policy's reason is for the operator.
      log::warn(
          "Twilio recording download refused by the egress policy",
          {{"bid", req.bid}, {"origin", http::url_origin_of(rec->recording_url)}, {"detail", res.error().message}});
      return std::unexpected(IngestError{Problem::kUnprocessable,
                                         Error(code, fmt::format("RecordingUrl: {}", http::kDestinationNotAllowed))});
    }
    return std::unexpected(IngestError{Problem::kError, res.error().with_context("downloading the Twilio recording")});
  }
  if (res->status == 429) {
    Error e(ErrorCode::kRateLimited, "Twilio throttled the recording download");
    return std::unexpected(IngestError{Problem::kError, e});
  }
  if (res->status >= 500) {
    return std::unexpected(
        refused(Problem::kError, ErrorCode::kUnavailable, fmt::format("Twilio answered HTTP {}", res->status)));
  }
  if (res->status != 200) {
    return std::unexpected(refused(Problem::kUnprocessable, ErrorCode::kInvalidArgument,
                                   fmt::format("the recording download answered HTTP {}", res->status)));
  }
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(res->body.data()), res->body.size());
  auto r = ingestor_.ingest_audio(*tenant, meta, bytes);
  if (!r) {
    if (r.error().problem == Problem::kInvalid || r.error().problem == Problem::kUnsupportedMedia) {
      // Twilio sent something that is not a recording: the download, not the callback, is bad.
      return std::unexpected(IngestError{Problem::kUnprocessable, r.error().error});
    }
    return std::unexpected(r.error());
  }
  return CallbackOutcome{false, "", std::move(*r)};
}

}  // namespace earshot::ingest::twilio

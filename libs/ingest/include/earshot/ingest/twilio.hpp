#pragma once
// Twilio recording status callbacks (the shared providers document, "Twilio recording status
// callback"): Twilio POSTs application/x-www-form-urlencoded fields (AccountSid, CallSid,
// RecordingSid, RecordingUrl, RecordingStatus, RecordingDuration, RecordingChannels, ...)
// and signs the request in X-Twilio-Signature: base64 of HMAC-SHA1, keyed with the account's
// auth token, over the full URL it called followed by every POST field's name and value, in
// alphabetical order of the names.
//
// Per business, the auth token is the pipeline config secret "twilio_auth_token" (sealed at
// rest). A completed recording is downloaded (HTTP basic auth AccountSid:token, deadline,
// size cap, address policy) and ingested as call "twilio-<RecordingSid>"; other statuses are
// acknowledged and ignored.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/ingest/ingestor.hpp"

namespace earshot::ingest::twilio {

using Params = std::vector<std::pair<std::string, std::string>>;

// Decodes an application/x-www-form-urlencoded body ('+' is a space, %XX escapes).
// kInvalidArgument for a malformed escape.
[[nodiscard]] Result<Params> parse_form(std::string_view body);

// The X-Twilio-Signature Twilio sends for a POST of `params` to `url`.
[[nodiscard]] std::string signature(std::string_view auth_token, std::string_view url, Params params);

// Compares in constant time.
[[nodiscard]] bool verify(std::string_view auth_token, std::string_view url, const Params& params,
                          std::string_view header);

struct Recording {
  std::string account_sid;
  std::string call_sid;
  std::string recording_sid;
  std::string recording_url;
  std::string status;  // "completed", "absent", "failed", ...
  std::int64_t duration_s = 0;
  int channels = 0;
};

// The fields of a recording status callback; kInvalidArgument naming a missing one.
[[nodiscard]] Result<Recording> parse_recording(const Params& params);

struct CallbackRequest {
  std::string bid;
  std::string url;        // the full URL Twilio called (public base + path + query)
  std::string signature;  // X-Twilio-Signature
  std::string body;       // the form
};

struct CallbackOutcome {
  bool ignored = false;  // not a completed recording: nothing ingested
  std::string reason;    // why it was ignored
  std::optional<Ingested> ingested;
};

// Verifies, downloads and ingests. 404 for an unknown business or one without a Twilio
// token, 401 for a bad signature, 400 for a malformed form, 422 when the recording cannot be
// downloaded as audio, 503/504 when Twilio is unavailable or slow.
class CallbackHandler {
 public:
  CallbackHandler(storage::BusinessRepository& businesses, storage::PipelineConfigRepository& configs,
                  storage::CallRepository& calls, http::HttpClient& client, Ingestor& ingestor)
      : businesses_(businesses), configs_(configs), calls_(calls), client_(client), ingestor_(ingestor) {}
  [[nodiscard]] IngestResult<CallbackOutcome> handle(const CallbackRequest& req);

 private:
  storage::BusinessRepository& businesses_;
  storage::PipelineConfigRepository& configs_;  // the Twilio auth token
  storage::CallRepository& calls_;
  http::HttpClient& client_;
  Ingestor& ingestor_;
};

}  // namespace earshot::ingest::twilio

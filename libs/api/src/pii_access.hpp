#pragma once
// Who reads personal data raw (docs/security.md, "Personal data"). Transcripts are stored
// raw; when the business's `redact_pii` setting is on (the default), every read of transcript
// text by a caller without pii:read gets the redacted text: the call detail, the transcript
// exports, the list's text filter, search and the recording. Private to libs/api.

#include <string>

#include "earshot/api/gateway.hpp"
#include "earshot/api/router.hpp"
#include "earshot/storage/transcript_repository.hpp"

namespace earshot::api::detail {

// The API key scope (and signed-link mark) that reads personal data raw.
inline constexpr const char* kPiiReadScope = "pii:read";

// Platform admins, business admins, API keys with "pii:read" and recording links signed for
// such a caller. Analysts, viewers and other keys may not.
[[nodiscard]] bool may_read_pii(const Principal& p);

// True when the caller must be served redacted text: it may not read personal data and its
// business redacts (the setting read per request; no config stored: the default, on; a
// config whose secrets cannot be opened: on, never raw by mistake).
[[nodiscard]] Result<bool> must_redact(GatewayServices& s, const Request& req);

// The transcript's segments JSON as a caller who must not read personal data sees them: the
// redaction the analyze stage stored for this version, else redacted now.
[[nodiscard]] std::string redacted_segments(const storage::Transcript& tr);

// Every string inside `j` (object values and array items, at any depth) redacted.
void redact_strings(Json& j);
// Stored JSON text with every string redacted (unparsable text is returned as null).
[[nodiscard]] std::string redact_json_text(const std::string& text);

}  // namespace earshot::api::detail

#pragma once
// The pieces of add_call_routes (routes_calls.cpp), one per resource under /api/v1/calls,
// and what they share. Private to libs/api.

#include <string>
#include <string_view>

#include "earshot/api/gateway.hpp"
#include "earshot/api/json_writer.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/storage/call_repository.hpp"
#include "earshot/storage/note_repository.hpp"

namespace earshot::api::calls {

// Who may do what on calls: reading needs an API key with "read" (or any user), notes and
// reprocessing an analyst, deleting an admin, ingesting an admin or an "ingest" key.
struct CallPolicies {
  Policy read;
  Policy analyst;
  Policy admin;
  Policy ingest;
};

// The caller's call named by the {id} path parameter (kNotFound for another business's).
[[nodiscard]] Result<storage::CallRecord> own_call(GatewayServices& s, const Request& req);

// Tells dashboards (and other gateways' list caches) about a change made here. Never fails
// the request: LiveEvents logs and counts its failures.
void publish_event(GatewayServices& s, const std::string& bid, std::string_view type, Json data);

// The transcribe stage's message for call `c` of business `bid`.
[[nodiscard]] queue::OutgoingMessage transcribe_message(const QueueControl& q, const std::string& bid,
                                                        const storage::CallRecord& c);

// Filters shared by the list and bulk reprocess, and no other query parameter (with
// `paging`: also sort, order, limit, cursor and format).
[[nodiscard]] Result<storage::CallListQuery> parse_filters(const Request& req, bool paging);
// The text filter `q` of `query` matches the redacted transcript when the caller must not read
// personal data (pii_access.hpp): no word of a raw transcript is ever probed by such a caller.
[[nodiscard]] Status redact_text_filter(GatewayServices& s, const Request& req, storage::CallListQuery& query);

// A note; with `redact` (a caller without pii:read) its body's personal data redacted.
void write_note(JsonWriter& w, const storage::CallNote& n, bool redact = false);

// GET /api/v1/calls (the list) and POST /api/v1/calls (ingest one call).
void add_call_list_routes(Router& router, GatewayServices& s, const CallPolicies& p);
// GET and DELETE /api/v1/calls/{id}.
void add_call_detail_routes(Router& router, GatewayServices& s, const CallPolicies& p);
// GET /api/v1/calls/{id}/audio (credentials or a signed link) and POST
// /api/v1/calls/{id}/audio-url (routes_call_media.cpp).
void add_call_audio_routes(Router& router, GatewayServices& s, const CallPolicies& p);
// GET /api/v1/calls/{id}/transcript (routes_call_media.cpp).
void add_call_transcript_routes(Router& router, GatewayServices& s, const CallPolicies& p);
// /api/v1/calls/{id}/notes (routes_call_notes.cpp).
void add_call_notes_routes(Router& router, GatewayServices& s, const CallPolicies& p);
// POST /api/v1/calls/{id}/reprocess and POST /api/v1/calls/reprocess (routes_call_reprocess.cpp).
void add_reprocess_routes(Router& router, GatewayServices& s, const CallPolicies& p);

}  // namespace earshot::api::calls

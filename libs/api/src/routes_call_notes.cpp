// /api/v1/calls/{id}/notes: analysts' notes on a call (personal data in them redacted for a
// caller without pii:read, like the transcript). A piece of add_call_routes.
#include "earshot/api/gateway.hpp"
#include "earshot/api/json_writer.hpp"
#include "earshot/pipeline/redaction.hpp"
#include "earshot/storage/note_repository.hpp"
#include "pii_access.hpp"
#include "route_util.hpp"
#include "routes_calls.hpp"

namespace earshot::api::calls {

namespace {

Json note_json(const storage::CallNote& n, bool redact = false) {
  std::string text;
  JsonWriter w(text);
  write_note(w, n, redact);
  return Json::parse(text);
}

Result<Reply> create_note(GatewayServices& s, const Request& req) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"body"}); !st) return std::unexpected(st.error());
  auto text = detail::str_field(*b, "body", true, 1, 10000);
  if (!text) return std::unexpected(text.error());
  auto c = own_call(s, req);
  if (!c) return std::unexpected(c.error());
  const auto t = detail::tenant_of(req.caller_bid());
  auto& notes = s.repos.notes;
  // A platform admin acting on the business is not one of its users: no author id. (Every
  // route but the public ones has a principal.)
  const std::optional<Principal>& who = req.principal;
  const auto author = who && who->kind == Principal::Kind::kUser ? std::optional<storage::Id>(who->id) : std::nullopt;
  auto id = notes.create(t, c->id, author, text->value_or(""));
  if (!id) return std::unexpected(id.error());
  auto nl = notes.list_for_call(t, c->id);
  if (!nl) return std::unexpected(nl.error());
  for (const auto& n : *nl) {
    if (n.id == *id) return Reply::created(note_json(n));
  }
  return make_error(ErrorCode::kInternal, "created note not found");
}

// Its author, or an admin of the business (or the platform), may delete a note.
Result<Reply> delete_note(GatewayServices& s, const Request& req) {
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
  // Every route but the public ones has a principal; without one, nobody may delete.
  const std::optional<Principal>& who = req.principal;
  const bool admin_caller = who && (who->role == Role::kAdmin || who->role == Role::kPlatformAdmin);
  const bool author = who && who->kind == Principal::Kind::kUser && note->author_user_id == who->id;
  if (!admin_caller && !author) {
    return make_error(ErrorCode::kPermissionDenied, "only the note's author or an admin may delete it");
  }
  auto ok = notes.remove(t, *note_id);
  if (!ok) return std::unexpected(ok.error());
  return Reply::no_content();
}

}  // namespace

void write_note(JsonWriter& w, const storage::CallNote& n, bool redact) {
  w.begin_object();
  w.field("id", n.id).field("author_user_id", n.author_user_id);
  w.field("body", redact ? pipeline::redact_text(n.body) : n.body);
  w.key("created_at").timestamp(n.created_at);
  w.end_object();
}

void add_call_notes_routes(Router& router, GatewayServices& s, const CallPolicies& p) {
  router.add("GET", "/api/v1/calls/{id}/notes", p.read, [&s](const Request& req) -> Result<Reply> {
    auto c = own_call(s, req);
    if (!c) return std::unexpected(c.error());
    auto& notes = s.repos.notes;
    auto nl = notes.list_for_call(detail::tenant_of(req.caller_bid()), c->id);
    if (!nl) return std::unexpected(nl.error());
    auto redact = detail::must_redact(s, req);
    if (!redact) return std::unexpected(redact.error());
    Json items = Json::array();
    for (const auto& n : *nl) items.push_back(note_json(n, *redact));
    return Reply::ok(Json{{"items", items}});
  });
  router.add("POST", "/api/v1/calls/{id}/notes", p.analyst, [&s](const Request& req) { return create_note(s, req); });
  router.add("DELETE", "/api/v1/calls/{id}/notes/{note_id}", p.analyst,
             [&s](const Request& req) { return delete_note(s, req); });
}

}  // namespace earshot::api::calls

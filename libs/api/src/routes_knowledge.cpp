// /api/v1/knowledge: the business's knowledge base (docs/rag.md, docs/api.md). Documents are
// stored pending with their extracted text and embedded by the embed worker (embed.{bid}),
// which sets them ready or failed and announces knowledge.status. Viewers and `read` keys
// read; admins and analysts write.
#include <fmt/format.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "earshot/api/gateway.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/rag/documents.hpp"
#include "earshot/storage/rag_repositories.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

namespace {

constexpr std::size_t kMaxTitleBytes = 512;  // knowledge_documents.title

std::string_view status_name(storage::KnowledgeStatus s) {
  switch (s) {
    case storage::KnowledgeStatus::kReady:
      return "ready";
    case storage::KnowledgeStatus::kFailed:
      return "failed";
    case storage::KnowledgeStatus::kPending:
      break;
  }
  return "pending";
}

Json document_json(const storage::KnowledgeDocument& d, bool with_text) {
  Json j{{"id", d.id},
         {"title", d.title},
         {"content_type", d.content.content_type},
         {"status", status_name(d.status)},
         {"reason", d.status == storage::KnowledgeStatus::kFailed ? Json(d.error) : Json(nullptr)},
         {"version", d.version},
         {"chunk_count", d.chunk_count},
         {"model", d.model.empty() ? Json(nullptr) : Json(d.model)},
         {"size_bytes", d.content.size_bytes},
         {"sha256", d.content.sha256},
         {"created_at", detail::iso(d.created_at)},
         {"updated_at", detail::iso(d.updated_at)}};
  if (with_text) j["text"] = d.content.text;
  return j;
}

// A refusal with a status the error codes do not have (413, 415, 422), in the error shape.
Reply refusal(int status, std::string_view code, std::string message) {
  Reply r;
  r.status = status;
  r.json = Json{{"error", {{"code", code}, {"message", std::move(message)}}}};
  return r;
}

Reply too_large(const GatewayServices& s) {
  return refusal(413, "payload_too_large", fmt::format("the document is over {} bytes", s.rag.knowledge_max_bytes));
}

Reply extract_refusal(const rag::ExtractError& e) {
  switch (e.failure) {
    case rag::ExtractFailure::kUnsupportedType:
      return refusal(415, "unsupported_media_type", e.error.message);
    case rag::ExtractFailure::kNoText:
      return refusal(422, "unprocessable_content", e.error.message);
    case rag::ExtractFailure::kInvalidContent:
      break;
  }
  return refusal(400, "invalid_argument", e.error.message);
}

// At most `max` bytes of `s`, cut at a UTF-8 character boundary.
std::string utf8_prefix(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) --n;
  s.resize(n);
  return s;
}

std::optional<std::int64_t> creator(const Request& req) {
  if (req.principal && req.principal->kind == Principal::Kind::kUser) return req.principal->id;
  return std::nullopt;
}

// The content of a JSON body's text: markup of Markdown or HTML turned into plain text the
// way uploads are. nullopt with the refusal to answer otherwise.
std::expected<storage::KnowledgeContent, Reply> json_content(const GatewayServices& s, const std::string& text,
                                                             const std::string& content_type) {
  if (std::cmp_greater(text.size(), s.rag.knowledge_max_bytes)) return std::unexpected(too_large(s));
  auto got = rag::extract_text(text, content_type, "");
  if (!got) return std::unexpected(extract_refusal(got.error()));
  storage::KnowledgeContent c;
  c.content_type = std::string(rag::content_type_name(got->format));
  c.text = std::move(got->text);
  c.size_bytes = static_cast<std::int64_t>(text.size());
  c.sha256 = crypto::hex_encode(crypto::sha256(text));
  return c;
}

Result<std::optional<std::string>> json_content_type(const Json& b) {
  auto ct = detail::str_field(b, "content_type", false, 1, 64);
  if (!ct) return std::unexpected(ct.error());
  if (const std::optional<std::string>& v = *ct) {
    if (*v != "text/plain" && *v != "text/markdown" && *v != "text/html") {
      return invalid("content_type must be text/plain|text/markdown|text/html");
    }
  }
  return ct;
}

// Queues the document's embedding. When the broker cannot take the message the document is
// set failed with the reason (it is never left pending with nothing queued) and returned so.
Result<storage::KnowledgeDocument> queue_embedding(GatewayServices& s, const storage::TenantId& t,
                                                   storage::KnowledgeDocument doc) {
  std::vector<queue::OutgoingMessage> msgs;
  msgs.push_back(
      queue::make_stage_message(s.queues.topology(), queue::EmbedRequest::for_document(t.bid(), doc.id, doc.version)));
  auto st = s.queues.publish(std::move(msgs));
  if (st) return doc;
  const std::string reason = "could not be queued for embedding (" + st.error().message + "); save it again to retry";
  log::warn("knowledge document not queued",
            {{"bid", t.bid()}, {"document_id", std::to_string(doc.id)}, {"error", st.error().message}});
  auto set = s.repos.knowledge.set_status(t, doc.id, doc.version, storage::KnowledgeStatus::kFailed, reason);
  if (!set) return std::unexpected(set.error());
  if (*set) {
    doc.status = storage::KnowledgeStatus::kFailed;
    doc.error = reason;
  }
  return doc;
}

Result<Reply> created(GatewayServices& s, const Request& req, const std::string& title,
                      storage::KnowledgeContent content) {
  const auto t = detail::tenant_of(req.caller_bid());
  storage::KnowledgeDocumentInput in{.title = title, .content = std::move(content), .created_by = creator(req)};
  auto& repo = s.repos.knowledge;
  auto id = repo.create(t, in);
  if (!id) return std::unexpected(id.error());
  auto doc = repo.get(t, *id);
  if (!doc) return std::unexpected(doc.error());
  auto queued = queue_embedding(s, t, std::move(*doc));
  if (!queued) return std::unexpected(queued.error());
  Reply r = Reply::created(document_json(*queued, false));
  r.headers.emplace_back("Location", fmt::format("/api/v1/knowledge/{}", *id));
  return r;
}

Result<Reply> create_document(GatewayServices& s, const Request& req) {
  if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"title", "text", "content_type"}); !st) return std::unexpected(st.error());
  auto title = detail::str_field(*b, "title", true, 1, kMaxTitleBytes);
  if (!title) return std::unexpected(title.error());
  auto text = detail::str_field(*b, "text", true, 1, std::numeric_limits<std::size_t>::max());
  if (!text) return std::unexpected(text.error());
  auto ct = json_content_type(*b);
  if (!ct) return std::unexpected(ct.error());
  auto content = json_content(s, text->value_or(""), ct->value_or("text/plain"));
  if (!content) return content.error();
  return created(s, req, title->value_or(""), std::move(*content));
}

Result<Reply> upload_document(GatewayServices& s, const Request& req) {
  if (req.parts.empty()) {
    return refusal(415, "unsupported_media_type",
                   "send multipart/form-data with the document in the 'file' part (and an optional 'title' field)");
  }
  if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
  const FormPart* file = nullptr;
  std::optional<std::string> title;
  for (const auto& p : req.parts) {
    if (p.name == "file") {
      if (file != nullptr) return invalid("send exactly one document ('file' part)");
      file = &p;
    } else if (p.name == "title" && p.filename.empty()) {
      if (title) return invalid("send at most one 'title' field");
      if (p.content.empty() || p.content.size() > kMaxTitleBytes || !rag::is_valid_utf8(p.content)) {
        return invalid(fmt::format("title must be 1-{} bytes of UTF-8", kMaxTitleBytes));
      }
      title = p.content;
    } else {
      return invalid(fmt::format("unknown part '{}' (send 'file' and optionally 'title')", p.name));
    }
  }
  if (file == nullptr) return invalid("the document is missing: send it in the 'file' part");
  // The size is checked before any extraction: a PDF is never parsed past the limit.
  if (std::cmp_greater(file->content.size(), s.rag.knowledge_max_bytes)) return too_large(s);
  auto got = rag::extract_text(file->content, file->content_type, file->filename);
  if (!got) return extract_refusal(got.error());
  std::string name = title.value_or(got->title.value_or(file->filename));
  if (name.empty() || !rag::is_valid_utf8(name)) name = "Untitled";
  storage::KnowledgeContent c;
  c.content_type = std::string(rag::content_type_name(got->format));
  c.text = std::move(got->text);
  c.size_bytes = static_cast<std::int64_t>(file->content.size());
  c.sha256 = crypto::hex_encode(crypto::sha256(file->content));
  return created(s, req, utf8_prefix(std::move(name), kMaxTitleBytes), std::move(c));
}

Result<Reply> list_documents(GatewayServices& s, const Request& req) {
  if (auto st = detail::only_query(req, {"status", "limit", "before"}); !st) return std::unexpected(st.error());
  storage::KnowledgeListQuery q;
  if (auto status = req.query_param("status")) {
    if (*status == "pending") {
      q.status = storage::KnowledgeStatus::kPending;
    } else if (*status == "ready") {
      q.status = storage::KnowledgeStatus::kReady;
    } else if (*status == "failed") {
      q.status = storage::KnowledgeStatus::kFailed;
    } else {
      return invalid("status must be pending|ready|failed");
    }
  }
  auto limit = detail::query_int(req, "limit", 1, 500);
  if (!limit) return std::unexpected(limit.error());
  auto before = detail::query_int(req, "before", 1, std::numeric_limits<std::int64_t>::max());
  if (!before) return std::unexpected(before.error());
  q.limit = static_cast<int>(limit->value_or(50));
  q.before_id = before->value_or(0);
  auto page = s.repos.knowledge.list(detail::tenant_of(req.caller_bid()), q);
  if (!page) return std::unexpected(page.error());
  Json items = Json::array();
  for (const auto& d : page->documents) items.push_back(document_json(d, false));
  return Reply::ok(Json{{"items", std::move(items)},
                        {"next_before", page->next_before_id > 0 ? Json(page->next_before_id) : Json(nullptr)}});
}

Result<Reply> get_document(GatewayServices& s, const Request& req) {
  if (auto st = detail::only_query(req, {"include"}); !st) return std::unexpected(st.error());
  const auto include = req.query_param("include");
  if (include && *include != "text") return invalid("include must be text");
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto doc = s.repos.knowledge.get(detail::tenant_of(req.caller_bid()), *id);
  if (!doc) return std::unexpected(doc.error());
  return Reply::ok(document_json(*doc, include.has_value()));
}

// New title and/or new text: new text is a new version, pending and queued again; a title
// alone changes only the title (the chunks stand).
Result<Reply> update_document(GatewayServices& s, const Request& req) {
  if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"title", "text", "content_type"}); !st) return std::unexpected(st.error());
  auto title = detail::str_field(*b, "title", false, 1, kMaxTitleBytes);
  if (!title) return std::unexpected(title.error());
  auto text = detail::str_field(*b, "text", false, 1, std::numeric_limits<std::size_t>::max());
  if (!text) return std::unexpected(text.error());
  auto ct = json_content_type(*b);
  if (!ct) return std::unexpected(ct.error());
  const std::optional<std::string>& new_title = *title;
  const std::optional<std::string>& new_text = *text;
  if (ct->has_value() && !new_text) return invalid("content_type needs text");
  if (!new_title && !new_text) return invalid("send title and/or text");
  const auto t = detail::tenant_of(req.caller_bid());
  auto& repo = s.repos.knowledge;
  std::optional<storage::KnowledgeContent> content;
  if (new_text) {
    auto c = json_content(s, *new_text, ct->value_or("text/plain"));
    if (!c) return c.error();
    content = std::move(*c);
  }
  auto doc = repo.update(t, *id, new_title, content);
  if (!doc) return std::unexpected(doc.error());
  if (!content) return Reply::ok(document_json(*doc, false));
  auto queued = queue_embedding(s, t, std::move(*doc));
  if (!queued) return std::unexpected(queued.error());
  return Reply::ok(document_json(*queued, false));
}

Result<Reply> delete_document(GatewayServices& s, const Request& req) {
  if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto removed = s.repos.knowledge.remove(detail::tenant_of(req.caller_bid()), *id);
  if (!removed) return std::unexpected(removed.error());
  if (!*removed) return make_error(ErrorCode::kNotFound, "document not found");
  // Search shards (every gateway's, through the live event subscriber) forget its chunks.
  if (s.events != nullptr)
    (void)s.events->events().publish(req.caller_bid(), "knowledge.deleted", {{"document_id", *id}});
  return Reply::no_content();
}

}  // namespace

void add_knowledge_routes(Router& router, GatewayServices& s) {
  Policy read;
  read.api_key_scope = "read";
  Policy write;
  write.min_role = Role::kAnalyst;
  router.add("GET", "/api/v1/knowledge", read, [&s](const Request& req) { return list_documents(s, req); });
  router.add("POST", "/api/v1/knowledge", write, [&s](const Request& req) { return create_document(s, req); });
  router.add("POST", "/api/v1/knowledge/upload", write, [&s](const Request& req) { return upload_document(s, req); });
  router.add("GET", "/api/v1/knowledge/{id}", read, [&s](const Request& req) { return get_document(s, req); });
  router.add("PUT", "/api/v1/knowledge/{id}", write, [&s](const Request& req) { return update_document(s, req); });
  router.add("DELETE", "/api/v1/knowledge/{id}", write, [&s](const Request& req) { return delete_document(s, req); });
}

}  // namespace earshot::api

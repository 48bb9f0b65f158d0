// The chat over a business's calls and knowledge base (docs/api.md "Chat", docs/rag.md "Chat"):
// POST /api/v1/chat (JSON, or server-sent events with Accept: text/event-stream),
// GET /api/v1/chat/sessions and GET /api/v1/chat/sessions/{id}. The turn itself is
// rag::ChatService's; here: input, the per-business limits, the business's LLM, the replies.
#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <memory>

#include "earshot/api/gateway.hpp"
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/cache/usage_counter.hpp"
#include "earshot/core/log.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/rag/chat_service.hpp"
#include "earshot/storage/call_state.hpp"
#include "route_util.hpp"

namespace earshot::api {
namespace {

using detail::invalid;

constexpr std::size_t kMaxQuestionBytes = 4000;
// How long past the chat's deadline a JSON answer's connection still waits for it.
constexpr std::chrono::seconds kReplyGrace{5};
// Sessions belong to users; a platform admin's sessions (another id space, another table) are
// kept under its id with this bit set, so they never meet a business user's.
constexpr std::int64_t kPlatformAdminSessions = std::int64_t{1} << 62;

// The daily token allowance over the Redis counter (GatewayServices::chat_tokens, read per
// use: none, no budget): key "<bid>:<UTC day>", kept two days.
class DailyTokenBudget final : public rag::TokenBudget {
 public:
  explicit DailyTokenBudget(GatewayServices& s) : s_(s) {}
  Result<bool> spent(const storage::TenantId& t) override {
    if (s_.chat_tokens == nullptr) return false;
    auto used = s_.chat_tokens->get(key(t));
    if (!used) return std::unexpected(used.error());
    return *used >= s_.rag.chat_tokens_per_day;
  }
  void charge(const storage::TenantId& t, std::int64_t tokens) override {
    if (s_.chat_tokens == nullptr) return;
    if (auto r = s_.chat_tokens->add(key(t), std::max<std::int64_t>(tokens, 0), std::chrono::hours(48)); !r) {
      log::warn("chat token budget not charged", {{"bid", t.bid()}, {"error", r.error().message}});
    }
  }

 private:
  std::string key(const storage::TenantId& t) const {
    return t.bid() + ":" + queue::format_utc(storage::to_timestamp(s_.clock.now())).substr(0, 10);
  }
  GatewayServices& s_;
};

// GatewayServices::retriever, read per search: the services' fields may be set after the
// routes are built (the routes check it is there before a chat begins).
class ServicesRetriever final : public rag::Retriever {
 public:
  explicit ServicesRetriever(GatewayServices& s) : s_(s) {}
  Result<std::vector<rag::Retrieved>> search(const storage::TenantId& t, const rag::RetrievalQuery& q,
                                             const rag::QueryEmbedder& embedder) override {
    if (s_.retriever == nullptr) return make_error(ErrorCode::kUnavailable, "chat is not configured");
    return s_.retriever->search(t, q, embedder);
  }
  Result<std::vector<rag::SimilarCall>> similar_calls(const storage::TenantId& t, std::int64_t call_id, std::size_t k,
                                                      const rag::QueryEmbedder& embedder) override {
    if (s_.retriever == nullptr) return make_error(ErrorCode::kUnavailable, "chat is not configured");
    return s_.retriever->similar_calls(t, call_id, k, embedder);
  }

 private:
  GatewayServices& s_;
};

// The chat service, made with the routes (at the gateway's start): its retriever and budget
// read the services' fields per use.
struct ChatRoutes {
  explicit ChatRoutes(GatewayServices& s)
      : retriever(s), budget(s), service(retriever, s.repos.chat, s.clock, &budget) {}
  ServicesRetriever retriever;
  DailyTokenBudget budget;
  rag::ChatService service;  // last: its thread stops before the others go
};

// Whose sessions: the user, or the platform admin in its own id space.
Result<storage::Id> subject_of(const Request& req) {
  if (!req.principal) return make_error(ErrorCode::kUnauthenticated, "chat needs a signed-in user");
  const auto& p = *req.principal;
  return p.kind == Principal::Kind::kPlatformAdmin ? (p.id | kPlatformAdminSessions) : p.id;
}

// {from, to, agent_id, category, status}: the calls a question is asked of.
Result<storage::CallFilter> parse_call_filters(const Json& f) {
  if (!f.is_object()) return invalid("filters must be an object");
  if (auto st = detail::only_fields(f, {"from", "to", "agent_id", "category", "status"}); !st) {
    return std::unexpected(Error(ErrorCode::kInvalidArgument, "filters: " + st.error().message));
  }
  storage::CallFilter out;
  for (const auto& [name, target] : {std::pair{"from", &out.started_from}, std::pair{"to", &out.started_to}}) {
    auto v = detail::str_field(f, name, false, 1, 64);
    if (!v) return std::unexpected(Error(ErrorCode::kInvalidArgument, "filters." + v.error().message));
    const std::optional<std::string>& text = *v;
    if (!text) continue;
    auto t = detail::parse_time(*text);
    if (!t) return invalid(fmt::format("filters.{} must be a UTC date or time like 2026-11-21T09:40:00Z", name));
    *target = *t;
  }
  if (out.started_from && out.started_to && *out.started_from >= *out.started_to) {
    return invalid("filters.from must be before filters.to");
  }
  auto agent = detail::int_field(f, "agent_id", 1, std::numeric_limits<std::int64_t>::max());
  if (!agent) return std::unexpected(Error(ErrorCode::kInvalidArgument, "filters." + agent.error().message));
  out.human_agent_id = *agent;
  auto category = detail::str_field(f, "category", false, 1, 128);
  if (!category) return std::unexpected(Error(ErrorCode::kInvalidArgument, "filters." + category.error().message));
  out.category = *category;
  auto status = detail::str_field(f, "status", false, 1, 32);
  if (!status) return std::unexpected(Error(ErrorCode::kInvalidArgument, "filters." + status.error().message));
  if (const std::optional<std::string>& name = *status; name) {
    auto st = storage::status_from_name(*name);
    if (!st) {
      return invalid(
          "filters.status must be one of pending|transcribing|transcribed|analyzing|analyzed|notified|failed");
    }
    out.status = st;
  }
  return out;
}

struct ParsedChat {
  rag::ChatQuestion q;
  std::optional<storage::Id> call_id;  // scope call
};

Result<ParsedChat> parse_chat(const Request& req, const storage::TenantId& t) {
  auto body = req.json_body();
  if (!body) return std::unexpected(body.error());
  if (auto st = detail::only_fields(*body, {"question", "session_id", "scope", "call_id", "filters"}); !st) {
    return std::unexpected(st.error());
  }
  ParsedChat p{rag::ChatQuestion(t), std::nullopt};
  auto question = detail::str_field(*body, "question", true, 1, kMaxQuestionBytes);
  if (!question) {
    return invalid(fmt::format("question is required: 1-{} bytes of text", kMaxQuestionBytes));
  }
  std::optional<std::string>& text = *question;
  if (!text) return invalid("question is required");
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return invalid("question is empty");
  p.q.question = std::move(*text);
  auto session = detail::int_field(*body, "session_id", 1, std::numeric_limits<std::int64_t>::max());
  if (!session) return std::unexpected(session.error());
  p.q.session_id = *session;
  auto scope = detail::str_field(*body, "scope", false, 1, 16);
  if (!scope) return std::unexpected(scope.error());
  const std::string sc = scope->value_or("all");
  auto call_field = detail::int_field(*body, "call_id", 1, std::numeric_limits<std::int64_t>::max());
  if (!call_field) return std::unexpected(call_field.error());
  const std::optional<std::int64_t> call = *call_field;
  const bool has_filters = body->contains("filters") && !(*body)["filters"].is_null();
  if (sc == "all") {
    p.q.retrieval.sources = rag::SourceSet::kBoth;
  } else if (sc == "call") {
    if (!call) return invalid("scope call needs call_id");
    p.q.retrieval.sources = rag::SourceSet::kCalls;
    p.call_id = call;
  } else if (sc == "knowledge") {
    if (has_filters) return invalid("filters apply to calls; scope knowledge takes none");
    p.q.retrieval.sources = rag::SourceSet::kKnowledge;
  } else {
    return invalid("scope must be one of all|call|knowledge");
  }
  if (call && sc != "call") return invalid("call_id goes with scope call");
  if (has_filters || p.call_id) {
    storage::CallFilter filter;
    if (has_filters) {
      auto f = parse_call_filters((*body)["filters"]);
      if (!f) return std::unexpected(f.error());
      filter = std::move(*f);
    }
    if (call && sc == "call") filter.call_ids = {*call};
    p.q.retrieval.calls = std::move(filter);
  }
  return p;
}

// The reply's JSON (and the stream's final event).
Json answer_json(const rag::ChatAnswer& a) {
  Json j{{"session_id", a.session_id},
         {"message_id", a.answer_id},
         {"answer", a.text},
         {"citations", Json::parse(rag::citations_json(a.citations))},
         {"sources", Json::parse(rag::sources_json(a.sources, true))},
         {"model", a.model.empty() ? Json(nullptr) : Json(a.model)},
         {"latency_ms", a.latency.count()},
         {"llm", a.llm}};
  j["offline_reason"] = a.llm || a.offline == rag::OfflineReason::kNone
                            ? Json(nullptr)
                            : Json(std::string(rag::offline_reason_name(a.offline)));
  j["incomplete"] =
      a.incomplete == rag::Incomplete::kNone ? Json(nullptr) : Json(std::string(rag::incomplete_name(a.incomplete)));
  return j;
}

std::string sse_frame(std::string_view event, const Json& data) {
  return fmt::format("event: {}\ndata: {}\n\n", event, data.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Json error_json(const Error& e) {
  return Json{{"error", {{"code", code_name(e.code)}, {"message", e.message}}}};
}

// The JSON answer, given later through `responder`. A client that goes away (or a listener
// that stops) cuts the answer short; the turn is still stored with what had arrived.
void answer_later(rag::ChatService& service, const std::shared_ptr<rag::ChatService::Turn>& turn,
                  std::chrono::milliseconds timeout, const std::shared_ptr<Responder>& responder) {
  responder->on_abandon([weak = std::weak_ptr<rag::ChatService::Turn>(turn)] {
    if (auto live = weak.lock()) rag::ChatService::cancel(*live);
  });
  service.answer(
      turn, nullptr,
      [responder](Result<rag::ChatAnswer> a) {
        if (!a) return responder->reply(std::unexpected(a.error()));
        responder->reply(Reply::ok(answer_json(*a)));
      },
      timeout);
}

Result<Reply> post_chat(GatewayServices& s, ChatRoutes& routes, const Request& req) {
  const std::string& bid = req.caller_bid();
  const auto t = detail::tenant_of(bid);
  auto parsed = parse_chat(req, t);
  if (!parsed) return std::unexpected(parsed.error());
  if (const std::optional<storage::Id> call = parsed->call_id; call) {
    // Another business's call is as missing as one that never was.
    if (auto c = s.repos.calls.get(t, *call); !c) return std::unexpected(c.error());
  }
  rag::ChatService* service = &routes.service;
  if (s.retriever == nullptr || s.llm == nullptr) return make_error(ErrorCode::kUnavailable, "chat is not configured");
  if (s.rate_limiter != nullptr) {
    auto d =
        s.rate_limiter->take("chat:" + bid, s.rag.chat_requests_per_minute, std::chrono::minutes(1), s.clock.now());
    if (!d) {
      log::warn("chat rate limiter unavailable; letting the question through", {{"error", d.error().message}});
    } else if (!d->allowed) {
      Error e(ErrorCode::kRateLimited, fmt::format("this business asked more than {} questions a minute; retry later",
                                                   s.rag.chat_requests_per_minute));
      e.retry_after = d->retry_after;
      return std::unexpected(e);
    }
  }
  auto config = s.repos.pipeline_configs.get(t);
  if (!config && config.error().code != ErrorCode::kNotFound) return std::unexpected(config.error());
  auto business = s.llm->for_business(bid, config ? *config : storage::PipelineConfig{});
  if (!business) {
    return make_error(ErrorCode::kUnavailable,
                      "the business's LLM configuration is not usable: " + business.error().message);
  }
  rag::ChatLlm llm;
  llm.chain = (*business)->chain;
  llm.embedder = {(*business)->embedder, (*business)->embedder_id};
  llm.owner = *business;
  auto subject = subject_of(req);
  if (!subject) return std::unexpected(subject.error());
  parsed->q.user_id = *subject;

  const bool streaming = req.header("Accept").find("text/event-stream") != std::string::npos;
  auto turn = service->begin(parsed->q, std::move(llm));
  if (!turn) return std::unexpected(turn.error());
  const auto timeout = s.rag.chat_timeout;
  if (!streaming) {
    // The answer is written when it comes; meanwhile the connection holds no listener
    // thread. The connection waits a little past the chat's own deadline (which answers 504
    // itself) as a backstop.
    return Reply::deferred(timeout + kReplyGrace,
                           [service, turn = *turn, timeout](const std::shared_ptr<Responder>& responder) {
                             answer_later(*service, turn, timeout, responder);
                           });
  }
  return Reply::event_stream([service, turn = *turn, timeout](const std::shared_ptr<EventSink>& sink) {
    // A client that goes away cuts the answer short; the turn is still stored with what had
    // arrived.
    sink->on_close([weak = std::weak_ptr<rag::ChatService::Turn>(turn)] {
      if (auto live = weak.lock()) rag::ChatService::cancel(*live);
    });
    (void)sink->push(sse_frame("session", Json{{"session_id", rag::ChatService::session_of(*turn)}}));
    service->answer(
        turn,
        [sink](std::string_view piece) {
          (void)sink->push(sse_frame("token", Json{{"text", piece}}));
        },
        [sink](Result<rag::ChatAnswer> a) {
          (void)sink->push(a ? sse_frame("done", answer_json(*a)) : sse_frame("error", error_json(a.error())));
          sink->close();
        },
        timeout);
  });
}

Json session_json(const storage::ChatSession& c) {
  return Json{{"id", c.id},
              {"title", c.title},
              {"created_at", detail::iso(c.created_at)},
              {"updated_at", detail::iso(c.updated_at)}};
}

Json message_json(const storage::ChatMessage& m) {
  return Json{{"id", m.id},
              {"role", m.role == storage::ChatRole::kUser ? "user" : "assistant"},
              {"content", m.content},
              {"sources", detail::parsed(m.sources_json)},
              {"citations", detail::parsed(m.citations_json)},
              {"model", m.model.empty() ? Json(nullptr) : Json(m.model)},
              {"latency_ms", m.latency_ms},
              {"input_tokens", m.input_tokens},
              {"output_tokens", m.output_tokens},
              {"incomplete", m.incomplete.empty() ? Json(nullptr) : Json(m.incomplete)},
              {"created_at", detail::iso(m.created_at)}};
}

}  // namespace

void add_chat_routes(Router& router, GatewayServices& s) {
  // Any role may chat; API keys may not (sessions belong to users).
  Policy chat;
  auto routes = std::make_shared<ChatRoutes>(s);
  router.add("POST", "/api/v1/chat", chat,
             [&s, routes](const Request& req) -> Result<Reply> { return post_chat(s, *routes, req); });
  router.add("GET", "/api/v1/chat/sessions", chat, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"limit", "before"}); !st) return std::unexpected(st.error());
    auto limit = detail::query_int(req, "limit", 1, 200);
    if (!limit) return std::unexpected(limit.error());
    auto before = detail::query_int(req, "before", 1, std::numeric_limits<std::int64_t>::max());
    if (!before) return std::unexpected(before.error());
    const auto t = detail::tenant_of(req.caller_bid());
    auto user = subject_of(req);
    if (!user) return std::unexpected(user.error());
    auto page = s.repos.chat.list_sessions(t, *user, before->value_or(0), static_cast<int>(limit->value_or(50)));
    if (!page) return std::unexpected(page.error());
    Json items = Json::array();
    for (const auto& c : page->sessions) items.push_back(session_json(c));
    return Reply::ok(Json{{"items", std::move(items)},
                          {"next_before", page->next_before_id > 0 ? Json(page->next_before_id) : Json(nullptr)}});
  });
  router.add("GET", "/api/v1/chat/sessions/{id}", chat, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    auto id = req.id_param("id");
    if (!id) return std::unexpected(id.error());
    const auto t = detail::tenant_of(req.caller_bid());
    auto subject = subject_of(req);
    if (!subject) return std::unexpected(subject.error());
    const storage::Id user = *subject;
    // Another user's session, or another business's, is as missing as one that never was.
    auto session = s.repos.chat.get_session(t, user, *id);
    if (!session) return std::unexpected(session.error());
    auto messages = s.repos.chat.messages(t, user, *id, 1000);
    if (!messages) return std::unexpected(messages.error());
    Json out = session_json(*session);
    Json list = Json::array();
    for (const auto& m : *messages) list.push_back(message_json(m));
    out["messages"] = std::move(list);
    return Reply::ok(out);
  });
}

}  // namespace earshot::api

// Search over a business's calls and knowledge base, similar calls and coaching
// recommendations (docs/api.md, Search; docs/rag.md). Every read is scoped to the caller's
// business: the search shards are per business, hits are re-read from MariaDB under the
// tenant, and a call id of another business answers 404 like a missing one.
#include <fmt/format.h>

#include <map>
#include <unordered_map>

#include "earshot/api/gateway.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/rag/coaching.hpp"
#include "earshot/rag/retriever.hpp"
#include "route_util.hpp"

namespace earshot::api {

namespace {

using detail::invalid;

constexpr std::size_t kMaxQueryBytes = 2'000;
constexpr std::size_t kMaxFilterIds = 1'000;
// Similar calls examined for recommendations (the examples come from these), and the cosine
// similarity an example needs by default (hashed-bow vectors of unrelated calls score about
// 0.1, of calls on the same issue 0.6 and more).
constexpr std::size_t kRecommendationCandidates = 20;
constexpr double kDefaultExampleSimilarity = 0.5;

Status require_search(const GatewayServices& s) {
  if (s.retriever == nullptr || s.llm == nullptr) {
    return make_error(ErrorCode::kUnavailable, "search is not available on this gateway");
  }
  return {};
}

// The business's embedder, from its pipeline config (none stored: the defaults).
Result<std::shared_ptr<const pipeline::BusinessLlm>> business_llm(GatewayServices& s, const storage::TenantId& t) {
  storage::PipelineConfig pc;
  if (auto got = s.repos.pipeline_configs.get(t); got) {
    pc = std::move(*got);
  } else if (got.error().code != ErrorCode::kNotFound) {
    return std::unexpected(got.error());
  }
  auto b = s.llm->for_business(t.bid(), pc);
  if (!b) return make_error(ErrorCode::kUnavailable, "the business's embedder cannot be built: " + b.error().message);
  return b;
}

rag::QueryEmbedder embedder_of(const pipeline::BusinessLlm& b) {
  return rag::QueryEmbedder{b.embedder, b.embedder_id};
}

Result<std::vector<storage::Id>> id_list(const Json& f, const char* name) {
  const Json& v = f[name];
  if (!v.is_array() || v.size() > kMaxFilterIds) {
    return invalid(fmt::format("filters.{} must be an array of at most {} ids", name, kMaxFilterIds));
  }
  std::vector<storage::Id> out;
  for (const auto& x : v) {
    if (!x.is_number_integer() || x.get<std::int64_t>() < 1) {
      return invalid(fmt::format("filters.{} must hold positive integers", name));
    }
    out.push_back(x.get<std::int64_t>());
  }
  return out;
}

// The body's "filters" object into the query (call filters set `calls` only when one is given).
Status parse_search_filters(const Json& f, rag::RetrievalQuery& q) {
  if (!f.is_object()) return invalid("filters must be an object");
  if (auto st = detail::only_fields(
          f, {"from", "to", "agent_id", "category", "category_id", "status", "call_ids", "document_ids"});
      !st) {
    return invalid("filters: " + st.error().message);
  }
  storage::CallFilter c;
  bool any = false;
  for (auto [name, target] : {std::pair{"from", &c.started_from}, std::pair{"to", &c.started_to}}) {
    auto v = detail::str_field(f, name, false, 1, 40);
    if (!v) return invalid("filters." + v.error().message);
    const std::optional<std::string>& text = *v;
    if (!text) continue;
    auto t = detail::parse_time(*text);
    if (!t) return invalid(fmt::format("filters.{} must be a UTC date or time like 2026-11-21T09:40:00Z", name));
    *target = *t;
    any = true;
  }
  if (c.started_from && c.started_to && *c.started_from >= *c.started_to) {
    return invalid("filters.from must be before filters.to");
  }
  for (auto [name, target] :
       {std::pair{"agent_id", &c.human_agent_id}, std::pair{"category_id", &c.matched_category_id}}) {
    auto v = detail::int_field(f, name, 1, INT64_MAX);
    if (!v) return invalid("filters." + v.error().message);
    if (const std::optional<std::int64_t>& id = *v; id) {
      *target = id;
      any = true;
    }
  }
  auto category = detail::str_field(f, "category", false, 1, 128);
  if (!category) return invalid("filters." + category.error().message);
  if (const std::optional<std::string>& name = *category; name) {
    c.category = name;
    any = true;
  }
  auto status = detail::str_field(f, "status", false, 1, 32);
  if (!status) return invalid("filters." + status.error().message);
  if (const std::optional<std::string>& name = *status; name) {
    c.status = storage::status_from_name(*name);
    if (!c.status) {
      return invalid(
          "filters.status must be one of pending|transcribing|transcribed|analyzing|analyzed|notified|failed");
    }
    any = true;
  }
  if (f.contains("call_ids")) {
    auto ids = id_list(f, "call_ids");
    if (!ids) return std::unexpected(ids.error());
    c.call_ids = std::move(*ids);
    // An empty list names no call: nothing of the calls may be searched.
    if (c.call_ids.empty()) c.call_ids.push_back(0);
    any = true;
  }
  if (f.contains("document_ids")) {
    auto ids = id_list(f, "document_ids");
    if (!ids) return std::unexpected(ids.error());
    q.document_ids = std::move(*ids);
  }
  if (any) q.calls = std::move(c);
  return {};
}

Result<rag::RetrievalQuery> parse_search(const Json& b) {
  if (auto st = detail::only_fields(b, {"query", "k", "sources", "filters", "min_similarity"}); !st) {
    return std::unexpected(st.error());
  }
  rag::RetrievalQuery q;
  auto text = detail::str_field(b, "query", true, 1, kMaxQueryBytes);
  if (!text) return std::unexpected(text.error());
  q.text = text->value_or("");
  if (q.text.find_first_not_of(" \t\r\n") == std::string::npos) return invalid("query must not be blank");
  auto k = detail::int_field(b, "k", 1, 50);
  if (!k) return std::unexpected(k.error());
  q.k = static_cast<std::size_t>(k->value_or(10));
  auto sources = detail::str_field(b, "sources", false, 1, 16);
  if (!sources) return std::unexpected(sources.error());
  const std::string src = sources->value_or("all");
  if (src == "calls") {
    q.sources = rag::SourceSet::kCalls;
  } else if (src == "knowledge") {
    q.sources = rag::SourceSet::kKnowledge;
  } else if (src == "all") {
    q.sources = rag::SourceSet::kBoth;
  } else {
    return invalid("sources must be calls|knowledge|all");
  }
  if (auto it = b.find("min_similarity"); it != b.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() < -1 || it->get<double>() > 1) {
      return invalid("min_similarity must be a number -1..1");
    }
    q.min_similarity = it->get<float>();
  }
  if (auto it = b.find("filters"); it != b.end() && !it->is_null()) {
    if (auto st = parse_search_filters(*it, q); !st) return std::unexpected(st.error());
  }
  return q;
}

Json retrieved_json(const rag::Retrieved& r) {
  const auto& s = r.source;
  Json j{
      {"rank", s.number}, {"score", r.score}, {"similarity", detail::opt(r.similarity)}, {"bm25", detail::opt(r.bm25)}};
  if (s.kind == rag::SourceKind::kCall) {
    j["source"] = "call";
    j["call_id"] = s.call_id;
    j["speaker"] = s.speaker.empty() ? Json(nullptr) : Json(s.speaker);
    j["start_ms"] = s.start_ms;
    j["end_ms"] = s.end_ms;
    j["chunk_start_ms"] = s.chunk_start_ms;
    j["chunk_end_ms"] = s.chunk_end_ms;
  } else {
    j["source"] = "knowledge";
    j["document_id"] = s.document_id;
    j["title"] = s.document_title;
    j["chunk_index"] = s.chunk_index;
  }
  j["text"] = s.text;
  return j;
}

Result<Reply> search(GatewayServices& s, const Request& req) {
  if (auto st = require_search(s); !st) return std::unexpected(st.error());
  auto body = req.json_body();
  if (!body) return std::unexpected(body.error());
  auto q = parse_search(*body);
  if (!q) return std::unexpected(q.error());
  const auto t = detail::tenant_of(req.caller_bid());
  auto llm = business_llm(s, t);
  if (!llm) return std::unexpected(llm.error());
  auto hits = s.retriever->search(t, *q, embedder_of(**llm));
  if (!hits) return std::unexpected(hits.error());
  Json items = Json::array();
  bool keyword_only = false;
  for (const auto& h : *hits) {
    items.push_back(retrieved_json(h));
    keyword_only = keyword_only || h.keyword_only;
  }
  return Reply::ok({{"items", items}, {"model", (*llm)->embedder_id}, {"keyword_only", keyword_only}});
}

// ---- similar calls and recommendations ----------------------------------------------------

// What the similar-calls and recommendation answers show of a call, read once per request.
class CallFacts {
 public:
  CallFacts(GatewayServices& s, storage::TenantId t) : s_(s), t_(std::move(t)) {}

  // The call's profile for coaching (kNotFound when it is not the tenant's any more).
  Result<rag::CallProfile> profile(storage::Id call_id) {
    if (auto st = load_names(); !st) return std::unexpected(st.error());
    auto d = s_.repos.call_details.detail(t_, call_id);
    if (!d) return std::unexpected(d.error());
    rag::CallProfile p;
    p.call_id = call_id;
    p.human_agent_id = d->call.human_agent_id;
    p.qa_score = d->call.qa_score;
    p.outcome = "unknown";
    if (const std::optional<storage::CallMetrics>& metrics = d->metrics; metrics) {
      const auto& m = *metrics;
      p.agent_talk_ratio = m.agent_talk_ratio;
      p.patience_ms = m.patience_ms;
      p.question_rate_per_hour = m.question_rate_per_hour;
      p.longest_monologue_ms = m.longest_monologue_ms;
    }
    for (const auto& a : d->analyses) {
      const Json out = detail::parsed(a.output_json);
      if (!out.is_object()) continue;
      if (a.agent_config_id == summary_agent_) p.outcome = out.value("outcome", std::string("unknown"));
      if (a.agent_config_id != qa_agent_ || !out.contains("scorecards") || !out["scorecards"].is_array()) continue;
      for (const auto& card : out["scorecards"]) {
        if (!card.is_object() || !card.contains("answers") || !card["answers"].is_array()) continue;
        const std::string name = card.value("name", std::string());
        for (const auto& ans : card["answers"]) {
          if (!ans.is_object()) continue;
          p.qa_answers[name + "/" + ans.value("id", std::string())] = ans.value("answer", std::string());
        }
      }
    }
    for (const auto& m : d->categories) {
      auto it = category_names_.find(m.category_id);
      if (it != category_names_.end()) p.categories.insert(it->second);
    }
    records_[call_id] = std::move(d->call);
    return p;
  }

  // The call record profile() read, or one read now.
  Result<storage::CallRecord> record(storage::Id call_id) {
    if (auto it = records_.find(call_id); it != records_.end()) return it->second;
    auto c = s_.repos.calls.get(t_, call_id);
    if (c) records_[call_id] = *c;
    return c;
  }

  // {"id", "name"} of the human agent, or null.
  Json agent(const std::optional<storage::Id>& id) {
    if (!id) return nullptr;
    auto it = agents_.find(*id);
    if (it == agents_.end()) {
      auto a = s_.repos.human_agents.get(t_, *id);
      it = agents_.emplace(*id, a ? Json{{"id", *id}, {"name", a->name}} : Json{{"id", *id}, {"name", nullptr}}).first;
    }
    return it->second;
  }

  // The builtin outcome of a call (needs profile() or reads the analyses).
  Result<std::string> outcome(storage::Id call_id) {
    if (auto st = load_names(); !st) return std::unexpected(st.error());
    auto list = s_.repos.analyses.list_for_call(t_, call_id, true);
    if (!list) return std::unexpected(list.error());
    for (const auto& a : *list) {
      if (a.agent_config_id != summary_agent_) continue;
      const Json out = detail::parsed(a.output_json);
      if (out.is_object()) return out.value("outcome", std::string("unknown"));
    }
    return std::string("unknown");
  }

 private:
  Status load_names() {
    if (loaded_) return {};
    auto agents = s_.repos.agent_configs.list(t_, false);
    if (!agents) return std::unexpected(agents.error());
    for (const auto& a : *agents) {
      if (a.name == "builtin.summary") summary_agent_ = a.id;
      if (a.name == "builtin.qa") qa_agent_ = a.id;
    }
    auto cats = s_.repos.categories.list(t_);
    if (!cats) return std::unexpected(cats.error());
    for (const auto& c : *cats) category_names_[c.id] = c.name;
    loaded_ = true;
    return {};
  }

  GatewayServices& s_;
  storage::TenantId t_;
  bool loaded_ = false;
  storage::Id summary_agent_ = -1;
  storage::Id qa_agent_ = -1;
  std::map<storage::Id, std::string> category_names_;
  std::unordered_map<storage::Id, storage::CallRecord> records_;
  std::unordered_map<storage::Id, Json> agents_;
};

Json nudge_value(const rag::NudgeValue& v) {
  return std::visit([](const auto& x) { return Json(x); }, v);
}

// The caller's call named by {id} (404 for another business's), and the business's embedder.
struct CallContext {
  storage::CallRecord call;
  std::shared_ptr<const pipeline::BusinessLlm> llm;
};

Result<CallContext> call_context(GatewayServices& s, const Request& req, const storage::TenantId& t) {
  if (auto st = require_search(s); !st) return std::unexpected(st.error());
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto call = s.repos.calls.get(t, *id);
  if (!call) return std::unexpected(call.error());
  auto llm = business_llm(s, t);
  if (!llm) return std::unexpected(llm.error());
  return CallContext{std::move(*call), std::move(*llm)};
}

// The call's nearest calls; empty (and `indexed` false) while the call has no whole-call
// vector of the business's embedder.
Result<std::vector<rag::SimilarCall>> nearest(GatewayServices& s, const storage::TenantId& t, const CallContext& c,
                                              std::size_t k, bool& indexed) {
  auto near = s.retriever->similar_calls(t, c.call.id, k, embedder_of(*c.llm));
  indexed = true;
  if (!near && near.error().code == ErrorCode::kNotFound) {
    indexed = false;
    return std::vector<rag::SimilarCall>{};
  }
  return near;
}

Result<Reply> similar(GatewayServices& s, const Request& req) {
  if (auto st = detail::only_query(req, {"k"}); !st) return std::unexpected(st.error());
  auto k = detail::query_int(req, "k", 1, 50);
  if (!k) return std::unexpected(k.error());
  const auto t = detail::tenant_of(req.caller_bid());
  auto c = call_context(s, req, t);
  if (!c) return std::unexpected(c.error());
  bool indexed = false;
  auto near = nearest(s, t, *c, static_cast<std::size_t>(k->value_or(10)), indexed);
  if (!near) return std::unexpected(near.error());
  CallFacts facts(s, t);
  Json items = Json::array();
  for (const auto& n : *near) {
    auto rec = facts.record(n.call_id);
    if (!rec) {
      if (rec.error().code == ErrorCode::kNotFound) continue;  // deleted meanwhile
      return std::unexpected(rec.error());
    }
    auto outcome = facts.outcome(n.call_id);
    if (!outcome) return std::unexpected(outcome.error());
    items.push_back({{"call_id", n.call_id},
                     {"score", n.similarity},
                     {"started_at", detail::iso(rec->started_at)},
                     {"status", storage::status_name(rec->status)},
                     {"issue_category", rec->issue_category},
                     {"duration_ms", rec->duration_ms},
                     {"human_agent", facts.agent(rec->human_agent_id)},
                     {"qa_score", detail::opt(rec->qa_score)},
                     {"outcome", *outcome}});
  }
  return Reply::ok({{"call_id", c->call.id}, {"indexed", indexed}, {"items", items}});
}

Result<Reply> recommendations(GatewayServices& s, const Request& req) {
  if (auto st = detail::only_query(req, {"k", "min_similarity"}); !st) return std::unexpected(st.error());
  auto k = detail::query_int(req, "k", 1, 10);
  if (!k) return std::unexpected(k.error());
  const auto examples_wanted = static_cast<std::size_t>(k->value_or(3));
  auto min_similarity = detail::query_double(req, "min_similarity", 0, 1);
  if (!min_similarity) return std::unexpected(min_similarity.error());
  const double floor = min_similarity->value_or(kDefaultExampleSimilarity);
  const auto t = detail::tenant_of(req.caller_bid());
  auto c = call_context(s, req, t);
  if (!c) return std::unexpected(c.error());
  CallFacts facts(s, t);
  auto me = facts.profile(c->call.id);
  if (!me) return std::unexpected(me.error());
  bool indexed = false;
  auto near = nearest(s, t, *c, kRecommendationCandidates, indexed);
  if (!near) return std::unexpected(near.error());
  Json examples = Json::array();
  Json nudges = Json::array();
  for (const auto& n : *near) {
    if (examples.size() == examples_wanted || n.similarity < floor) break;  // nearest first
    auto other = facts.profile(n.call_id);
    if (!other) {
      if (other.error().code == ErrorCode::kNotFound) continue;
      return std::unexpected(other.error());
    }
    if (!rag::handled_better(*me, *other)) continue;
    examples.push_back({{"call_id", n.call_id},
                        {"score", n.similarity},
                        {"human_agent", facts.agent(other->human_agent_id)},
                        {"qa_score", detail::opt(other->qa_score)},
                        {"outcome", other->outcome}});
    for (const auto& x : rag::coaching_nudges(*me, *other)) {
      nudges.push_back({{"metric", x.metric},
                        {"name", x.name.empty() ? Json(nullptr) : Json(x.name)},
                        {"value", nudge_value(x.value)},
                        {"example_value", nudge_value(x.example_value)},
                        {"example_call_id", x.example_call_id},
                        {"advice", x.advice}});
    }
  }
  return Reply::ok({{"call_id", c->call.id},
                    {"indexed", indexed},
                    {"human_agent", facts.agent(me->human_agent_id)},
                    {"qa_score", detail::opt(me->qa_score)},
                    {"outcome", me->outcome},
                    {"examples", examples},
                    {"nudges", nudges}});
}

}  // namespace

void add_search_routes(Router& router, GatewayServices& s) {
  // Any business role may search; API keys need "read".
  Policy read;
  read.api_key_scope = "read";
  Policy search_policy = read;
  search_policy.read_only = true;  // POST for its body; nothing changes
  router.add("POST", "/api/v1/search", search_policy, [&s](const Request& req) { return search(s, req); });
  router.add("GET", "/api/v1/calls/{id}/similar", read, [&s](const Request& req) { return similar(s, req); });
  router.add("GET", "/api/v1/calls/{id}/recommendations", read,
             [&s](const Request& req) { return recommendations(s, req); });
}

}  // namespace earshot::api

// Tests that walk the router's own route table, so a new route is covered (or the test fails
// saying it is not classified): the tenant-isolation matrix (every caller kind x own and
// another business), injection strings in every path parameter, and the platform admin's
// X-Earshot-Business header. Real HTTP against the real MariaDB, RabbitMQ and Redis.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "earshot/api/dispatcher.hpp"
#include "earshot/api/jwt.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/pipeline/business_llm_fake.hpp"
#include "fakes/rag/canned_retriever.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;

// ---- the resources of one business ---------------------------------------------------------

struct Business {
  std::string bid;
  std::string admin;                       // token of its admin
  std::map<std::string, std::string> ids;  // "call", "note", "agent", ... -> id
};

// The business whose prefix POST /api/v1/calls bodies name (an object URI must be the caller's).
std::string g_call_bid = "mx";

std::string id_of(const HttpReply& r, const std::string& what) {
  if (r.status / 100 != 2 || !r.json.is_object() || !r.json.contains("id")) {
    throw std::runtime_error(fmt::format("creating {} failed: {} {}", what, r.status, r.body));
  }
  return std::to_string(r.json["id"].get<std::int64_t>());
}

std::string new_call(Gateway& gw, const std::string& bid) {
  const std::string key = bid + "/" + unique_suffix() + ".wav";
  std::filesystem::create_directories(gw.objects / bid);
  std::ofstream(gw.objects / key, std::ios::binary) << std::string(64, 'a');
  return std::to_string(seed_call(bid, "m-" + unique_suffix(), "Pune", 0.2, 0.5, storage::CallStatus::kAnalyzed, key));
}

std::string new_note(Gateway& gw, const Business& b) {
  return id_of(gw.request("POST", "/api/v1/calls/" + b.ids.at("call") + "/notes", b.admin, {{"body", "n"}}), "note");
}

std::string biz_path(const Business& b) {
  return "/api/v1/admin/businesses/" + b.bid;
}

std::string new_agent(Gateway& gw, const Business& b) {
  return id_of(
      gw.request("POST", biz_path(b) + "/agents", b.admin,
                 {{"name", "a_" + unique_suffix()}, {"kind", "llm"}, {"prompt_template", "Summarise {{transcript}}"}}),
      "agent");
}

std::string new_user(Gateway& gw, const Business& b) {
  return id_of(
      gw.request(
          "POST", biz_path(b) + "/users", b.admin,
          {{"email", "u" + unique_suffix() + "@" + b.bid + ".test"}, {"password", "long enough"}, {"role", "viewer"}}),
      "user");
}

std::string new_key(Gateway& gw, const Business& b) {
  return id_of(
      gw.request("POST", biz_path(b) + "/api-keys", b.admin, {{"name", "k" + unique_suffix()}, {"scopes", {"read"}}}),
      "api key");
}

json category_body() {
  return {{"name", "c" + unique_suffix()}, {"rules", json::parse(R"([{"type":"transcript","phrases":["refund"]}])")}};
}
json scorecard_body() {
  return {{"name", "s" + unique_suffix()}, {"questions", json::parse(R"([{"id":"greet","text":"Greeted?","weight":1,
            "answer":{"kind":"rule","rules":[{"type":"transcript","phrases":["thank you"]}]}}])")}};
}
json webhook_body() {
  return {{"url", "https://hooks.example/" + unique_suffix()}, {"events", {"call.analyzed"}}};
}

std::string new_category(Gateway& gw, const Business& b) {
  return id_of(gw.request("POST", biz_path(b) + "/categories", b.admin, category_body()), "category");
}
std::string new_scorecard(Gateway& gw, const Business& b) {
  return id_of(gw.request("POST", biz_path(b) + "/scorecards", b.admin, scorecard_body()), "scorecard");
}
std::string new_webhook(Gateway& gw, const Business& b) {
  return id_of(gw.request("POST", "/api/v1/webhooks", b.admin, webhook_body()), "webhook");
}

// A finished (failed) test delivery of the business's webhook, so it can be redelivered.
std::string new_delivery(Gateway& gw, const Business& b) {
  auto r = gw.request("POST", "/api/v1/webhooks/" + b.ids.at("webhook") + "/test", b.admin);
  if (r.status != 202 || !r.json["delivery"].is_object()) throw std::runtime_error("test event failed: " + r.body);
  const auto id = r.json["delivery"]["id"].get<std::int64_t>();
  auto up = StorageEnvironment::db().execute("UPDATE webhook_deliveries SET status = 'failed' WHERE bid = ? AND id = ?",
                                             {storage::Value(b.bid), storage::Value(id)});
  if (!up) throw std::runtime_error(up.error().to_string());
  return std::to_string(id);
}

std::string new_human_agent(const std::string& bid) {
  storage::MySqlHumanAgentRepository agents(StorageEnvironment::db());
  auto id = agents.upsert(tenant(bid), {"ext-" + unique_suffix(), "Sam", "north", "Pune"});
  if (!id) throw std::runtime_error(id.error().to_string());
  return std::to_string(*id);
}

std::string new_document(Gateway& gw, const Business& b) {
  return id_of(gw.request("POST", "/api/v1/knowledge", b.admin,
                          {{"title", "Refunds " + unique_suffix()}, {"text", "Refunds are paid within thirty days."}}),
               "knowledge document");
}

// Chat answers here (canned passages, no LLM: extractive answers) unless the gateway was given
// a retriever and an LLM source already.
void enable_chat(Gateway& gw) {
  static CannedRetriever retriever;
  static FakeBusinessLlmSource no_llm(nullptr, nullptr);
  auto& s = gw.services();
  if (s.retriever == nullptr) s.retriever = &retriever;
  if (s.llm == nullptr) s.llm = &no_llm;
}

// A chat session of the business's admin (sessions are their users' own).
std::string new_chat_session(Gateway& gw, const Business& b) {
  enable_chat(gw);
  auto r = gw.request("POST", "/api/v1/chat", b.admin, {{"question", "refund?"}});
  if (r.status != 200 || !r.json.contains("session_id")) throw std::runtime_error("chat failed: " + r.body);
  return std::to_string(r.json["session_id"].get<std::int64_t>());
}

// Resources of every kind a route can name.
Business make_business(Gateway& gw, const std::string& prefix) {
  Business b;
  b.bid = gw.new_business(prefix);
  b.admin = gw.user_token(b.bid, "admin");
  b.ids["call"] = new_call(gw, b.bid);
  b.ids["note"] = new_note(gw, b);
  b.ids["agent"] = new_agent(gw, b);
  b.ids["user"] = new_user(gw, b);
  b.ids["key"] = new_key(gw, b);
  b.ids["category"] = new_category(gw, b);
  b.ids["scorecard"] = new_scorecard(gw, b);
  b.ids["webhook"] = new_webhook(gw, b);
  b.ids["delivery"] = new_delivery(gw, b);
  b.ids["human_agent"] = new_human_agent(b.bid);
  b.ids["document"] = new_document(gw, b);
  b.ids["chat_session"] = new_chat_session(gw, b);
  return b;
}

// A short mono WAV the upload route accepts (a tone, so it decodes to speech-like audio).
std::string small_wav() {
  std::vector<float> s(16000);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * i / 16000.0));
  return audio::encode_wav_pcm16(s, 16000);
}

// ---- who may call a route: the intended access, written down per route ----------------------

enum class Access {
  kPublic,        // anyone, no credentials
  kPlatformOnly,  // platform admins only
  kAnyCaller,     // any authenticated caller (platform admins too)
  kBusinessPath,  // /admin/businesses/{bid}/...: platform admins and the business's own callers
  kTenant,        // the caller's business (platform admins name it with X-Earshot-Business)
};

struct Spec {
  Access access = Access::kTenant;
  api::Role min_role = api::Role::kViewer;  // business users need at least this
  std::string key_scope;                    // API keys need this scope; empty: no API key
  int ok = 200;                             // the success status
  // The route's path parameters other than {bid}, as resource kinds of make_business().
  std::map<std::string, std::string> params;
  // Resource kinds a successful call consumes (a fresh one is made for each such call).
  std::set<std::string> consumes;
  std::function<json()> body;  // null: no body
  std::string query;
  bool upload = false;  // multipart/form-data recording
  bool stream = false;  // server-sent events (status read from the headers)
  // The resource is its creator's (the business admin's): every other caller allowed the
  // route finds it missing (404).
  bool owner_only = false;
};

Spec spec(Access a, api::Role role, std::string scope, int ok, std::map<std::string, std::string> params = {},
          std::function<json()> body = nullptr, std::set<std::string> consumes = {}) {
  Spec s;
  s.access = a;
  s.min_role = role;
  s.key_scope = std::move(scope);
  s.ok = ok;
  s.params = std::move(params);
  s.body = std::move(body);
  s.consumes = std::move(consumes);
  return s;
}

std::map<std::string, Spec> route_specs() {
  using api::Role;
  const auto V = Role::kViewer;
  const auto An = Role::kAnalyst;
  const auto Ad = Role::kAdmin;
  const auto P = Access::kPublic;
  const auto T = Access::kTenant;
  const auto B = Access::kBusinessPath;
  auto fixed = [](json j) { return [j] { return j; }; };
  std::map<std::string, Spec> m;
  // System and sessions.
  for (const char* r : {"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/v1/version",
                        "GET /api/v1/openapi.json", "POST /api/v1/auth/login", "POST /api/v1/auth/refresh",
                        "POST /api/v1/auth/logout", "POST /api/v1/ingest/twilio/{bid}"}) {
    m[r] = spec(P, V, "", 200);
  }
  m["GET /api/v1/auth/me"] = spec(Access::kAnyCaller, V, "read", 200);
  // Businesses.
  m["GET /api/v1/admin/businesses"] = spec(Access::kPlatformOnly, Ad, "", 200);
  m["POST /api/v1/admin/businesses"] = spec(Access::kPlatformOnly, Ad, "", 201, {}, [] {
    return json{{"bid", "mx-" + unique_suffix()}, {"name", "Matrix"}};
  });
  m["PATCH /api/v1/admin/businesses/{bid}"] =
      spec(Access::kPlatformOnly, Ad, "", 200, {}, fixed({{"name", "Renamed"}}));
  const std::string biz = "/api/v1/admin/businesses/{bid}";
  m["GET " + biz] = spec(B, Ad, "", 200);
  m["GET " + biz + "/pipeline-config"] = spec(B, Ad, "", 200);
  m["PUT " + biz + "/pipeline-config"] = spec(B, Ad, "", 200, {}, fixed({{"concurrency", 2}}));
  m["GET " + biz + "/agents"] = spec(B, Ad, "", 200);
  m["POST " + biz + "/agents"] = spec(B, Ad, "", 201, {}, [] {
    return json{{"name", "a_" + unique_suffix()}, {"kind", "llm"}, {"prompt_template", "Summarise {{transcript}}"}};
  });
  m["GET " + biz + "/agents/{id}"] = spec(B, Ad, "", 200, {{"id", "agent"}});
  m["PUT " + biz + "/agents/{id}"] = spec(B, Ad, "", 200, {{"id", "agent"}}, [] {
    return json{{"name", "a_" + unique_suffix()}, {"kind", "llm"}, {"prompt_template", "v2"}};
  });
  m["DELETE " + biz + "/agents/{id}"] = spec(B, Ad, "", 204, {{"id", "agent"}}, nullptr, {"agent"});
  m["GET " + biz + "/users"] = spec(B, Ad, "", 200);
  m["POST " + biz + "/users"] = spec(B, Ad, "", 201, {}, [] {
    return json{{"email", "m" + unique_suffix() + "@matrix.test"}, {"password", "long enough"}, {"role", "viewer"}};
  });
  m["PATCH " + biz + "/users/{id}"] = spec(B, Ad, "", 200, {{"id", "user"}}, fixed({{"role", "analyst"}}));
  m["DELETE " + biz + "/users/{id}"] = spec(B, Ad, "", 204, {{"id", "user"}}, nullptr, {"user"});
  m["GET " + biz + "/api-keys"] = spec(B, Ad, "", 200);
  m["POST " + biz + "/api-keys"] = spec(B, Ad, "", 201, {}, [] {
    return json{{"name", "k" + unique_suffix()}, {"scopes", {"read"}}};
  });
  m["DELETE " + biz + "/api-keys/{id}"] = spec(B, Ad, "", 204, {{"id", "key"}}, nullptr, {"key"});
  for (const auto& [kind, body] :
       {std::pair{std::string("categories"), &category_body}, std::pair{std::string("scorecards"), &scorecard_body}}) {
    const std::string res = kind == "categories" ? "category" : "scorecard";
    m["GET " + biz + "/" + kind] = spec(B, Ad, "", 200);
    m["POST " + biz + "/" + kind] = spec(B, Ad, "", 201, {}, body);
    m["GET " + biz + "/" + kind + "/{id}"] = spec(B, Ad, "", 200, {{"id", res}});
    m["PUT " + biz + "/" + kind + "/{id}"] = spec(B, Ad, "", 200, {{"id", res}}, body);
    m["DELETE " + biz + "/" + kind + "/{id}"] = spec(B, Ad, "", 204, {{"id", res}}, nullptr, {res});
  }
  // Calls.
  m["GET /api/v1/calls"] = spec(T, V, "read", 200);
  m["POST /api/v1/calls"] = spec(T, Ad, "ingest", 202, {}, [] {
    return json{{"external_id", "mx-" + unique_suffix()},
                {"audio_uri", "store://" + g_call_bid + "/" + unique_suffix() + ".wav"},
                {"started_at", "2026-11-20T10:00:00Z"}};
  });
  m["POST /api/v1/calls/reprocess"] = spec(T, An, "", 202, {}, fixed({{"stage", "transcribe"}}));
  m["POST /api/v1/calls/reprocess"].query = "?city=Nowhere";
  m["GET /api/v1/calls/{id}"] = spec(T, V, "read", 200, {{"id", "call"}});
  m["DELETE /api/v1/calls/{id}"] = spec(T, Ad, "", 204, {{"id", "call"}}, nullptr, {"call"});
  m["GET /api/v1/calls/{id}/audio"] = spec(T, V, "read", 200, {{"id", "call"}});
  m["POST /api/v1/calls/{id}/audio-url"] = spec(T, V, "read", 200, {{"id", "call"}});
  m["GET /api/v1/calls/{id}/transcript"] = spec(T, V, "read", 200, {{"id", "call"}});
  m["GET /api/v1/calls/{id}/notes"] = spec(T, V, "read", 200, {{"id", "call"}});
  m["POST /api/v1/calls/{id}/notes"] = spec(T, An, "", 201, {{"id", "call"}}, fixed({{"body", "matrix"}}));
  // Analysts may delete their own notes only; the matrix's notes are written by the
  // business admin, so here only admins may.
  m["DELETE /api/v1/calls/{id}/notes/{note_id}"] =
      spec(T, Ad, "", 204, {{"id", "call"}, {"note_id", "note"}}, nullptr, {"note"});
  m["POST /api/v1/calls/{id}/reprocess"] =
      spec(T, An, "", 202, {{"id", "call"}}, fixed({{"stage", "transcribe"}}), {"call"});
  // Ingestion.
  m["POST /api/v1/ingest/calls"] = spec(T, Ad, "ingest", 201);
  m["POST /api/v1/ingest/calls"].upload = true;
  m["POST /api/v1/ingest/transcripts"] = spec(T, Ad, "ingest", 201, {}, [] {
    return json{{"external_id", "mx-" + unique_suffix()},
                {"segments", {{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 2000}, {"text", "hello"}}}}};
  });
  // Analytics, pipeline, live events.
  m["GET /api/v1/analytics/agents"] = spec(T, V, "read", 200);
  m["GET /api/v1/analytics/agents/{id}"] = spec(T, V, "read", 200, {{"id", "human_agent"}});
  m["GET /api/v1/analytics/overview"] = spec(T, V, "read", 200);
  m["GET /api/v1/analytics/regions"] = spec(T, V, "read", 200);
  m["GET /api/v1/pipeline/status"] = spec(T, V, "read", 200);
  m["GET /api/v1/events"] = spec(T, V, "read", 200);
  m["GET /api/v1/events"].stream = true;
  // Webhooks and notification settings.
  m["GET /api/v1/webhooks"] = spec(T, Ad, "", 200);
  m["POST /api/v1/webhooks"] = spec(T, Ad, "", 201, {}, &webhook_body);
  m["GET /api/v1/webhooks/{id}"] = spec(T, Ad, "", 200, {{"id", "webhook"}});
  m["PATCH /api/v1/webhooks/{id}"] = spec(T, Ad, "", 200, {{"id", "webhook"}}, fixed({{"description", "d"}}));
  m["DELETE /api/v1/webhooks/{id}"] = spec(T, Ad, "", 204, {{"id", "webhook"}}, nullptr, {"webhook"});
  m["GET /api/v1/webhooks/{id}/deliveries"] = spec(T, Ad, "", 200, {{"id", "webhook"}});
  m["GET /api/v1/webhooks/{id}/deliveries/{delivery_id}"] =
      spec(T, Ad, "", 200, {{"id", "webhook"}, {"delivery_id", "delivery"}});
  m["POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"] =
      spec(T, Ad, "", 202, {{"id", "webhook"}, {"delivery_id", "delivery"}}, nullptr, {"delivery"});
  m["POST /api/v1/webhooks/{id}/test"] = spec(T, Ad, "", 202, {{"id", "webhook"}});
  m["GET /api/v1/notify/settings"] = spec(T, Ad, "", 200);
  m["PUT /api/v1/notify/settings"] = spec(T, Ad, "", 200, {}, fixed(json::object()));
  // Knowledge base: viewers and read keys read, analysts and admins write.
  m["GET /api/v1/knowledge"] = spec(T, V, "read", 200);
  m["POST /api/v1/knowledge"] = spec(T, An, "", 201, {}, [] {
    return json{{"title", "Doc " + unique_suffix()}, {"text", "Shipping takes five days."}};
  });
  m["POST /api/v1/knowledge/upload"] = spec(T, An, "", 201);
  m["POST /api/v1/knowledge/upload"].upload = true;
  m["GET /api/v1/knowledge/{id}"] = spec(T, V, "read", 200, {{"id", "document"}});
  m["PUT /api/v1/knowledge/{id}"] = spec(T, An, "", 200, {{"id", "document"}}, fixed({{"title", "Renamed"}}));
  m["DELETE /api/v1/knowledge/{id}"] = spec(T, An, "", 204, {{"id", "document"}}, nullptr, {"document"});
  // Chat: any role, no API keys (sessions belong to users).
  m["POST /api/v1/chat"] = spec(T, V, "", 200, {}, fixed({{"question", "what did the customer ask?"}}));
  m["GET /api/v1/chat/sessions"] = spec(T, V, "", 200);
  m["GET /api/v1/chat/sessions/{id}"] = spec(T, V, "", 200, {{"id", "chat_session"}});
  m["GET /api/v1/chat/sessions/{id}"].owner_only = true;
  // Search, similar calls, recommendations.
  m["POST /api/v1/search"] = spec(T, V, "read", 200, {}, fixed({{"query", "refund"}}));
  m["GET /api/v1/calls/{id}/similar"] = spec(T, V, "read", 200, {{"id", "call"}});
  m["GET /api/v1/calls/{id}/recommendations"] = spec(T, V, "read", 200, {{"id", "call"}});
  return m;
}

std::string route_key(const api::Route& r) {
  return r.method + " " + r.pattern;
}

TEST(RouteTable, EveryRouteIsClassifiedForTheMatrix) {
  auto& gw = gateway();
  const auto specs = route_specs();
  std::set<std::string> served;
  for (const auto& r : gw.router.routes()) {
    served.insert(route_key(r));
    EXPECT_TRUE(specs.count(route_key(r)))
        << "route " << route_key(r) << " is not classified in route_specs(): say who may call it";
  }
  for (const auto& [k, s] : specs) EXPECT_TRUE(served.count(k)) << "classified but not served: " << k;
  // The policies agree with the classification: a tenant route is what the dispatcher
  // treats as one (platform admins name its business), and nothing else is.
  for (const auto& r : gw.router.routes()) {
    auto it = specs.find(route_key(r));
    if (it == specs.end()) continue;
    EXPECT_EQ(api::is_tenant_route(r.policy), it->second.access == Access::kTenant) << route_key(r);
  }
  // The OpenAPI document lists the business header on exactly the tenant routes.
  std::ifstream in(std::string(EARSHOT_SOURCE_DIR) + "/proto/openapi.json");
  ASSERT_TRUE(in);
  const json doc = json::parse(in);
  const json ref = {{"$ref", "#/components/parameters/EarshotBusiness"}};
  EXPECT_EQ(doc["components"]["parameters"]["EarshotBusiness"]["name"], api::kBusinessHeader);
  for (const auto& r : gw.router.routes()) {
    std::string m = r.method;
    for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const json op = doc["paths"].value(r.pattern, json::object()).value(m, json::object());
    const json params = op.value("parameters", json::array());
    const bool documented = std::find(params.begin(), params.end(), ref) != params.end();
    EXPECT_EQ(documented, api::is_tenant_route(r.policy)) << route_key(r) << ": X-Earshot-Business parameter";
  }
}

// ---- the callers --------------------------------------------------------------------------

struct Caller {
  std::string name;
  enum class Kind { kAnonymous, kPlatform, kUser, kKey } kind = Kind::kAnonymous;
  api::Role role = api::Role::kViewer;
  std::set<std::string> scopes;
  std::string credential;
};

// The status a caller of business A must get for the route on A's own resources.
int expected_own(const Spec& s, const Caller& c) {
  if (s.access == Access::kPublic) return s.ok;
  switch (c.kind) {
    case Caller::Kind::kAnonymous:
      return 401;
    case Caller::Kind::kPlatform:
      return s.owner_only ? 404 : s.ok;
    case Caller::Kind::kUser:
      if (s.access == Access::kPlatformOnly) return 403;
      if (!api::role_at_least(c.role, s.min_role)) return 403;
      return s.owner_only && c.role != api::Role::kAdmin ? 404 : s.ok;
    case Caller::Kind::kKey:
      if (s.access == Access::kPlatformOnly || s.key_scope.empty()) return 403;
      return c.scopes.count(s.key_scope) ? s.ok : 403;
  }
  return 0;
}

class Matrix {
 public:
  explicit Matrix(Gateway& gw) : gw_(gw) {}

  // Fills the pattern's parameters from `owner`'s resources (fresh ones where the call would
  // consume them); `bid` is the business named in a {bid} segment.
  std::string path(const api::Route& r, const Spec& s, Business& owner, const std::string& bid, bool fresh) {
    std::string out;
    for (const auto& seg : r.segments) {
      out += "/";
      if (seg == "{bid}") {
        out += bid;
      } else if (seg.size() > 2 && seg.front() == '{') {
        const std::string kind = s.params.at(seg.substr(1, seg.size() - 2));
        out += fresh && s.consumes.count(kind) ? make(kind, owner) : owner.ids.at(kind);
      } else {
        out += seg;
      }
    }
    return out + s.query;
  }

  HttpReply send(const api::Route& r, const Spec& s, const std::string& path, const Caller& c,
                 const std::string& business_header) {
    httplib::Headers h;
    if (c.kind == Caller::Kind::kKey) h.emplace("X-Api-Key", c.credential);
    if (c.kind == Caller::Kind::kUser || c.kind == Caller::Kind::kPlatform) {
      h.emplace("Authorization", "Bearer " + c.credential);
    }
    if (!business_header.empty()) h.emplace(api::kBusinessHeader, business_header);
    if (s.stream) return stream_status(path, h);
    if (s.upload) {
      httplib::Client cli("127.0.0.1", gw_.port);
      cli.set_read_timeout(30, 0);
      httplib::MultipartFormDataItems items = {{"audio", wav_, "call.wav", "audio/wav"},
                                               {"external_id", "mx-" + unique_suffix(), "", ""},
                                               {"started_at", "2026-11-20T09:40:00Z", "", ""}};
      if (path.starts_with("/api/v1/knowledge/")) {  // a knowledge-base document, not a recording
        items = {{"file", "Refunds are paid within thirty days.", "refunds.txt", "text/plain"}};
      }
      auto res = cli.Post(path, h, items);
      HttpReply out;
      if (res) {
        out.status = res->status;
        out.body = res->body;
        out.json = json::parse(res->body, nullptr, false);
      }
      return out;
    }
    return gw_.raw_request(r.method, path, s.body ? s.body().dump() : std::string(), h);
  }

 private:
  // The status of a server-sent event stream, read from its headers; the client then hangs up.
  HttpReply stream_status(const std::string& path, const httplib::Headers& h) {
    // A stream notices its client left within half a second; until then it holds one of the
    // few stream places (503 + Retry-After), so wait for a place rather than fail.
    HttpReply out;
    wait_until(
        [&] {
          out = stream_once(path, h);
          return out.status != 503;
        },
        std::chrono::seconds(10));
    return out;
  }

  HttpReply stream_once(const std::string& path, const httplib::Headers& h) {
    httplib::Client cli("127.0.0.1", gw_.port);
    cli.set_read_timeout(10, 0);
    HttpReply out;
    auto res = cli.Get(
        path, h,
        [&](const httplib::Response& resp) {
          out.status = resp.status;
          return resp.status != 200;  // a 200 stream is left at once; errors are read whole
        },
        [&](const char* d, std::size_t n) {
          out.body.append(d, n);
          return true;
        });
    (void)res;
    out.json = json::parse(out.body, nullptr, false);
    return out;
  }

  std::string make(const std::string& kind, Business& owner) {
    if (kind == "call") return new_call(gw_, owner.bid);
    if (kind == "note") return new_note(gw_, owner);
    if (kind == "agent") return new_agent(gw_, owner);
    if (kind == "user") return new_user(gw_, owner);
    if (kind == "key") return new_key(gw_, owner);
    if (kind == "category") return new_category(gw_, owner);
    if (kind == "scorecard") return new_scorecard(gw_, owner);
    if (kind == "webhook") return new_webhook(gw_, owner);
    if (kind == "delivery") return new_delivery(gw_, owner);
    if (kind == "document") return new_document(gw_, owner);
    throw std::runtime_error("no way to make a " + kind);
  }

  Gateway& gw_;
  std::string wav_ = small_wav();
};

TEST(GatewayIsolation, EveryCallerKindOnEveryRouteOwnBusinessAndAnother) {
  auto& gw = gateway();
  Business a = make_business(gw, "mx-a");
  Business b = make_business(gw, "mx-b");
  g_call_bid = a.bid;  // POST /api/v1/calls names a recording under the acting business's prefix
  // The matrix asks who may call each route. What a caller without pii:read receives where the
  // business redacts personal data (the recording's redacted copy, 409 before one exists) is
  // api_pii_redaction_test's: here everyone hears the recording.
  ASSERT_EQ(gw.request("PUT", biz_path(a) + "/pipeline-config", a.admin, {{"redact_pii", false}}).status, 200);
  auto key = [&](std::vector<std::string> scopes) {
    auto r =
        gw.request("POST", biz_path(a) + "/api-keys", a.admin, {{"name", "m" + unique_suffix()}, {"scopes", scopes}});
    if (r.status != 201) throw std::runtime_error(r.body);
    return r.json["secret"].get<std::string>();
  };
  using K = Caller::Kind;
  const std::vector<Caller> callers = {
      {"platform admin", K::kPlatform, api::Role::kPlatformAdmin, {}, gw.platform_token},
      {"business admin", K::kUser, api::Role::kAdmin, {}, a.admin},
      {"analyst", K::kUser, api::Role::kAnalyst, {}, gw.user_token(a.bid, "analyst")},
      {"viewer", K::kUser, api::Role::kViewer, {}, gw.user_token(a.bid, "viewer")},
      {"read key", K::kKey, api::Role::kViewer, {"read"}, key({"read"})},
      {"ingest key", K::kKey, api::Role::kViewer, {"ingest"}, key({"ingest"})},
      {"embed key", K::kKey, api::Role::kViewer, {"embed", "read"}, key({"embed"})},
      {"anonymous", K::kAnonymous, api::Role::kViewer, {}, ""},
  };
  const auto specs = route_specs();
  Matrix mx(gw);
  int probes = 0;
  for (const auto& r : gw.router.routes()) {
    auto it = specs.find(route_key(r));
    ASSERT_NE(it, specs.end()) << route_key(r) << " is not classified";
    const Spec& s = it->second;
    if (s.access == Access::kPublic) {
      // Public routes answer without credentials, never 401 and never 5xx.
      auto got = mx.send(r, s, mx.path(r, s, a, a.bid, false), callers.back(), "");
      EXPECT_NE(got.status, 401) << route_key(r);
      EXPECT_LT(got.status, 500) << route_key(r) << " " << got.body;
      continue;
    }
    const bool has_ids = !s.params.empty();
    for (const auto& c : callers) {
      const bool platform = c.kind == K::kPlatform;
      const std::string header = platform && s.access == Access::kTenant ? a.bid : "";
      // Own business.
      const int own = expected_own(s, c);
      const auto own_path = mx.path(r, s, a, a.bid, own / 100 == 2);
      auto got = mx.send(r, s, own_path, c, header);
      ++probes;
      EXPECT_EQ(got.status, own) << c.name << " " << r.method << " " << own_path << " -> " << got.body;
      if (route_key(r) == "POST /api/v1/admin/businesses" && got.status == 201) {
        gw.businesses.push_back(got.json["bid"].get<std::string>());  // its queues go at teardown
      }
      // Another business: its resources look absent (404); 403 only where the caller may not
      // do this even in its own business. Never its data.
      std::optional<HttpReply> other;
      std::string other_path;
      if (c.kind == K::kAnonymous) {
        other_path = mx.path(r, s, b, b.bid, false);
        other = mx.send(r, s, other_path, c, "");
      } else if (platform) {
        // Platform admins may act on any business; "another" is another business's ids
        // under the business they named (header or path).
        if (has_ids && s.access != Access::kPlatformOnly) {
          other_path = mx.path(r, s, b, a.bid, false);
          other = mx.send(r, s, other_path, c, header);
        }
      } else if (s.access == Access::kBusinessPath || has_ids) {
        other_path = mx.path(r, s, b, b.bid, false);
        other = mx.send(r, s, other_path, c, "");
      } else {
        // Nothing in the path names a business: naming B in the header must not reach it.
        other_path = mx.path(r, s, a, a.bid, false);
        other = mx.send(r, s, other_path, c, b.bid);
      }
      if (!other) continue;
      ++probes;
      const std::string what =
          fmt::format("{} {} {} (another business) -> {} {}", c.name, r.method, other_path, other->status, other->body);
      if (c.kind == K::kAnonymous) {
        EXPECT_EQ(other->status, 401) << what;
      } else if (own == 403 || s.access == Access::kPlatformOnly) {
        EXPECT_TRUE(other->status == 403 || other->status == 404) << what;
      } else {
        EXPECT_EQ(other->status, 404) << what;
      }
      EXPECT_EQ(other->body.find(b.bid), std::string::npos) << what;
    }
  }
  EXPECT_GT(probes, 500);
  // B is untouched: its call, note and webhook are still there for its admin.
  EXPECT_EQ(gw.request("GET", "/api/v1/calls/" + b.ids["call"], b.admin).json["notes"].size(), 1u);
  EXPECT_EQ(gw.request("GET", "/api/v1/webhooks/" + b.ids["webhook"], b.admin).status, 200);
  auto users = gw.request("GET", biz_path(b) + "/users", b.admin);
  bool user_kept = false;
  for (const auto& u : users.json["items"])
    user_kept = user_kept || std::to_string(u["id"].get<std::int64_t>()) == b.ids["user"];
  EXPECT_TRUE(user_kept) << users.body;
}

// ---- the platform admin's business header ---------------------------------------------------

TEST(GatewayPlatformAdmin, ActsOnANamedBusinessAndOnlyAnExistingActiveOne) {
  auto& gw = gateway();
  const auto bid = gw.new_business("pa");
  const auto call = std::to_string(seed_call(bid, "pa-1", "Pune", 0.3, 0.5, storage::CallStatus::kAnalyzed));
  const auto& root = gw.platform_token;
  auto missing = gw.request("GET", "/api/v1/calls", root);
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.json["error"]["message"].get<std::string>().find("X-Earshot-Business"), std::string::npos);
  auto list = gw.request("GET", "/api/v1/calls", root, nullptr, {{"X-Earshot-Business", bid}});
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json["items"].size(), 1u);
  EXPECT_EQ(std::to_string(list.json["items"][0]["id"].get<std::int64_t>()), call);
  auto detail = gw.request("GET", "/api/v1/calls/" + call, root, nullptr, {{"X-Earshot-Business", bid}});
  ASSERT_EQ(detail.status, 200);
  EXPECT_EQ(detail.json["external_id"], "pa-1");
  // A note by a platform admin has no business user as its author.
  auto note = gw.request("POST", "/api/v1/calls/" + call + "/notes", root, {{"body", "from support"}},
                         {{"X-Earshot-Business", bid}});
  ASSERT_EQ(note.status, 201) << note.body;
  EXPECT_TRUE(note.json["author_user_id"].is_null()) << note.body;

  auto unknown = gw.request("GET", "/api/v1/calls", root, nullptr, {{"X-Earshot-Business", "nope-" + unique_suffix()}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json["error"]["message"], "no such business");
  auto malformed = gw.request("GET", "/api/v1/calls", root, nullptr, {{"X-Earshot-Business", "' OR 1=1 --"}});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.json["error"]["code"], "invalid_argument");
  ASSERT_EQ(gw.request("PATCH", "/api/v1/admin/businesses/" + bid, root, {{"status", "disabled"}}).status, 200);
  auto disabled = gw.request("GET", "/api/v1/calls", root, nullptr, {{"X-Earshot-Business", bid}});
  EXPECT_EQ(disabled.status, 404);
  EXPECT_NE(disabled.json["error"]["message"].get<std::string>().find("disabled"), std::string::npos);
  // Platform routes ignore the header; "who am I" stays the platform admin.
  auto me = gw.request("GET", "/api/v1/auth/me", root, nullptr, {{"X-Earshot-Business", bid}});
  ASSERT_EQ(me.status, 200);
  EXPECT_TRUE(me.json["bid"].is_null());
}

TEST(GatewayPlatformAdmin, BusinessCallersNamingTheirOwnBusinessAreServed) {
  auto& gw = gateway();
  const auto bid = gw.new_business("own");
  const auto viewer = gw.user_token(bid, "viewer");
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", viewer, nullptr, {{"X-Earshot-Business", bid}}).status, 200);
  EXPECT_EQ(gw.request("GET", "/api/v1/auth/me", viewer, nullptr, {{"X-Earshot-Business", bid}}).json["bid"], bid);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", viewer, nullptr, {{"X-Earshot-Business", bid + "x"}}).status, 404);
}

// ---- injection strings in every path parameter ---------------------------------------------

TEST(GatewayInjection, EveryPathParameterOfEveryRouteIs400Or404Never500) {
  auto& gw = gateway();
  const auto bid = gw.new_business("pinj");
  const auto admin = gw.user_token(bid, "admin");
  const std::vector<std::string> payloads = {"'",
                                             "' OR '1'='1",
                                             "1; DROP TABLE call_records; --",
                                             "1 UNION SELECT password_hash FROM users",
                                             "\" OR \"\"=\"",
                                             "%00",
                                             "1'%20OR%20'1'='1",
                                             "-1",
                                             "0",
                                             "99999999999999999999999",
                                             "1e3",
                                             "0x10",
                                             "%2e%2e"};
  int probes = 0;
  for (const auto& r : gw.router.routes()) {
    if (r.policy.public_route) continue;  // the Twilio callback checks its signature (ingest tests)
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
      const auto& seg = r.segments[i];
      if (seg.size() < 3 || seg.front() != '{') continue;
      for (const auto& v : payloads) {
        std::string path;
        for (std::size_t j = 0; j < r.segments.size(); ++j) {
          const auto& s = r.segments[j];
          path += "/";
          if (j == i) {
            path += pct(v);
          } else if (s == "{bid}") {
            path += bid;
          } else if (s.front() == '{') {
            path += "1";
          } else {
            path += s;
          }
        }
        // The platform admin passes every policy, so the handlers see the strings.
        for (const auto& token : {gw.platform_token, admin}) {
          auto got = gw.request(r.method, path, token,
                                r.method == "GET" || r.method == "DELETE" ? json(nullptr) : json::object(),
                                {{"X-Earshot-Business", bid}});
          ++probes;
          EXPECT_TRUE(got.status == 400 || got.status == 404 || got.status == 403)
              << r.method << " " << path << " -> " << got.status << " " << got.body;
          EXPECT_TRUE(got.json.is_object() && got.json.contains("error")) << r.method << " " << path;
        }
      }
    }
  }
  EXPECT_GT(probes, 300);
  EXPECT_EQ(gw.request("GET", "/api/v1/admin/businesses/" + bid, admin).status, 200);
}

// ---- failure paths every route shares ---------------------------------------------------------

TEST(GatewayFailures, EveryRouteAnswersMissingIdsAndBadBodiesWithAReason) {
  auto& gw = gateway();
  Business a = make_business(gw, "fail");
  const auto specs = route_specs();
  Matrix mx(gw);
  const Caller root{"platform admin", Caller::Kind::kPlatform, api::Role::kPlatformAdmin, {}, gw.platform_token};
  int probes = 0;
  for (const auto& r : gw.router.routes()) {
    const Spec& s = specs.at(route_key(r));
    if (s.access == Access::kPublic || s.stream || s.upload) continue;
    const std::string header = s.access == Access::kTenant ? a.bid : "";
    // A well-formed id that names nothing: 404 in the error shape, for each id in the path.
    for (const auto& [param, kind] : s.params) {
      Business missing = a;
      missing.ids[kind] = "999999999999";
      Spec only = s;
      only.consumes.clear();
      const auto path = mx.path(r, only, missing, a.bid, false);
      auto got = mx.send(r, only, path, root, header);
      ++probes;
      EXPECT_EQ(got.status, 404) << r.method << " " << path << " (" << param << ") -> " << got.body;
      EXPECT_EQ(got.json["error"]["code"], "not_found") << r.method << " " << path;
    }
    if (!s.body) continue;
    // Bodies: not JSON, not an object, an unknown field: 400 naming the problem.
    const auto path = mx.path(r, s, a, a.bid, false);
    httplib::Headers h{{"Authorization", "Bearer " + gw.platform_token}};
    if (!header.empty()) h.emplace(api::kBusinessHeader, header);
    json extra = s.body();
    extra["surprise"] = 1;
    for (const std::string& body : {std::string("{not json"), std::string("[1, 2]"), extra.dump()}) {
      auto got = gw.raw_request(r.method, path, body, h);
      ++probes;
      EXPECT_EQ(got.status, 400) << r.method << " " << path << " " << body << " -> " << got.body;
      EXPECT_EQ(got.json["error"]["code"], "invalid_argument") << r.method << " " << path << " " << body;
      EXPECT_FALSE(got.json["error"]["message"].get<std::string>().empty());
    }
  }
  EXPECT_GT(probes, 50);
}

// ---- injection strings in every documented query parameter ------------------------------------

TEST(GatewayInjection, EveryDocumentedQueryParameterIs400OrEmptyNever500) {
  auto& gw = gateway();
  Business a = make_business(gw, "qinj");
  Matrix mx(gw);
  std::ifstream in(std::string(EARSHOT_SOURCE_DIR) + "/proto/openapi.json");
  ASSERT_TRUE(in);
  const json doc = json::parse(in);
  const auto specs = route_specs();
  const std::vector<std::string> payloads = {"'",
                                             "' OR '1'='1",
                                             "1; DROP TABLE call_records; --",
                                             "1 UNION SELECT password_hash FROM users",
                                             "\" OR \"\"=\"",
                                             "%00",
                                             "' AND SLEEP(5) --",
                                             "999999999999999999999999",
                                             "1e999",
                                             "../../etc/passwd"};
  const Caller root{"platform admin", Caller::Kind::kPlatform, api::Role::kPlatformAdmin, {}, gw.platform_token};
  int probes = 0;
  for (const auto& r : gw.router.routes()) {
    std::string m = r.method;
    for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const json op = doc["paths"].value(r.pattern, json::object()).value(m, json::object());
    std::vector<std::string> names;
    for (const auto& p : op.value("parameters", json::array())) {
      if (p.value("in", "") == "query") names.push_back(p["name"]);
    }
    if (names.empty()) continue;
    Spec s = specs.at(route_key(r));
    s.query.clear();
    const std::string base = mx.path(r, s, a, a.bid, false);
    const std::string header = s.access == Access::kTenant ? a.bid : "";
    for (const auto& name : names) {
      for (const auto& v : payloads) {
        const std::string url = base + "?" + name + "=" + pct(v);
        auto got = mx.send(r, s, url, root, header);
        ++probes;
        const std::string what = fmt::format("{} {} -> {} {}", r.method, url, got.status, got.body);
        ASSERT_TRUE(got.status == 400 || got.status / 100 == 2) << what;
        if (got.status == 400) {
          EXPECT_EQ(got.json["error"]["code"], "invalid_argument") << what;
        } else if (got.json.is_object()) {
          // Accepted as a value: it filters out everything, and nothing is queued.
          if (got.json.contains("items")) {
            EXPECT_TRUE(got.json["items"].empty()) << what;
          }
          if (got.json.contains("queued")) {
            EXPECT_EQ(got.json["queued"], 0) << what;
          }
        }
      }
    }
  }
  EXPECT_GT(probes, 300);
  // The business's data is intact.
  auto list = gw.request("GET", "/api/v1/calls", a.admin);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json["items"].size(), 1u);
}

// ---- JWT tampering with a known key --------------------------------------------------------

TEST(GatewayAuth, TokensSignedWithAnotherKeyOrExpiredAre401) {
  auto& gw = gateway();
  const auto bid = gw.new_business("jwtk");
  const auto token = gw.user_token(bid, "admin");
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  const auto claims = json::parse(*api::base64url_decode(token.substr(d1 + 1, d2 - d1 - 1)));
  api::AccessClaims c;
  c.sub = claims["sub"].get<std::string>();
  c.bid = claims["bid"].get<std::string>();
  c.role = claims["role"].get<std::string>();
  auto other = api::JwtCodec::make(std::string(48, 'x'), std::chrono::minutes(5), SystemClock::instance());
  ASSERT_TRUE(other);
  const auto wrong_key = *other->issue(c);
  FakeClock past;
  past.set_wall(std::chrono::system_clock::now() - std::chrono::hours(1));
  auto old = api::JwtCodec::make(gw.jwt_secret(), std::chrono::minutes(1), past);
  ASSERT_TRUE(old);
  const auto expired = *old->issue(c);
  // The same claims, signed with the right key and a current clock: accepted.
  auto good = api::JwtCodec::make(gw.jwt_secret(), std::chrono::minutes(1), SystemClock::instance());
  ASSERT_TRUE(good);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", *good->issue(c)).status, 200);
  for (const auto& [what, t] : {std::pair{"wrong key", wrong_key}, std::pair{"expired", expired}}) {
    auto r = gw.request("GET", "/api/v1/calls", t);
    EXPECT_EQ(r.status, 401) << what;
    EXPECT_EQ(r.json["error"]["code"], "unauthenticated") << what;
    EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer") << what;
  }
}

}  // namespace
}  // namespace earshot::testing

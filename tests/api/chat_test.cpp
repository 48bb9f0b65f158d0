// The chat routes on the real gateway (MariaDB, Redis) with the business's LLM chain pointing
// at fake Ollama and OpenAI servers on loopback that speak the real wire formats: answers with
// citations, the chain's fallback, server-sent events, the extractive answer without an LLM or
// over the token budget, sessions and their owners, bad input, the per-business rate limit.
// Retrieval is a canned retriever set into the gateway's services (the index-backed one is
// tested with the search routes).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "earshot/cache/rate_limiter.hpp"
#include "earshot/cache/usage_counter.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/message.hpp"
#include "fakes/llm/fake_llm.hpp"
#include "fakes/rag/canned_retriever.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::int64_t kChatsPerMinute = 6;

// What the test binary adds to the shared gateway: made once, outliving it.
struct ChatWorld {
  ChatWorld() {
    if (!ollama.start() || !openai.start()) throw std::runtime_error("fake LLM servers did not start");
    cache::RedisSettings rs;
    rs.url = endpoints().redis_url;
    rs.timeout = 2s;
    redis = std::move(*cache::RedisClient::make(rs, 2));
    const std::string prefix = "earshot:test:" + unique_suffix() + ":";
    limiter = std::make_unique<cache::RedisRateLimiter>(*redis, prefix + "rl:");
    tokens = std::make_unique<cache::RedisUsageCounter>(*redis, prefix + "tokens:");
    llm = std::make_unique<pipeline::LlmProviderFactory>(http, SystemClock::instance(), pipeline::LlmSettings{});
    auto& s = gateway().services();
    s.retriever = &retriever;
    s.llm = llm.get();
    s.rate_limiter = limiter.get();
    s.chat_tokens = tokens.get();
    s.rag.chat_requests_per_minute = kChatsPerMinute;
    s.rag.chat_tokens_per_day = 100'000;
    s.rag.chat_timeout = 20s;
  }
  FakeOllama ollama;
  FakeOpenAiChat openai;
  http::CurlHttpClient http;
  std::unique_ptr<cache::RedisClient> redis;
  std::unique_ptr<cache::RedisRateLimiter> limiter;
  std::unique_ptr<cache::RedisUsageCounter> tokens;
  std::unique_ptr<pipeline::LlmProviderFactory> llm;
  CannedRetriever retriever;
};

ChatWorld& world() {
  static ChatWorld w;
  return w;
}

struct Biz {
  std::string bid;
  std::string admin;
  std::int64_t call = 0;
};

// A business with one analyzed call and two passages (the call's, a policy document's), and
// the LLM chain given ("ollama", "openai", in order; none: no LLM).
Biz business(const std::vector<std::string>& chain) {
  auto& w = world();
  auto& gw = gateway();
  Biz b;
  b.bid = gw.new_business("chat");
  b.admin = gw.user_token(b.bid, "admin");
  b.call = seed_call(b.bid, "c-" + unique_suffix(), "Pune", -0.4, 0.6, storage::CallStatus::kAnalyzed);
  w.retriever.add_call(b.bid, b.call, 3'000, "customer: my refund never arrived and I was charged twice");
  w.retriever.add_document(b.bid, 11, "Refund policy", 0, "Refunds are paid within five business days.");
  if (!chain.empty()) {
    json models = json::array();
    json secrets = json::object();
    for (const auto& p : chain) {
      if (p == "ollama")
        models.push_back({{"provider", "ollama"}, {"model", "llama-test"}, {"base_url", w.ollama.base_url()}});
      if (p == "openai") {
        models.push_back({{"provider", "openai"}, {"model", "gpt-test"}, {"base_url", w.openai.base_url()}});
        secrets["openai_api_key"] = w.openai.api_key();
      }
    }
    auto r = gw.request("PUT", "/api/v1/admin/businesses/" + b.bid + "/pipeline-config", b.admin,
                        {{"llm_chain", models}, {"secrets", secrets}});
    if (r.status != 200) throw std::runtime_error("pipeline config: " + r.body);
  }
  return b;
}

HttpReply chat(const std::string& token, const json& body, httplib::Headers extra = {}) {
  return gateway().request("POST", "/api/v1/chat", token, body, std::move(extra));
}

// The events of a server-sent event body: (event, data as JSON).
std::vector<std::pair<std::string, json>> events_of(const std::string& body) {
  std::vector<std::pair<std::string, json>> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    const std::string frame = body.substr(pos, end - pos);
    std::string event;
    std::string data;
    std::size_t line = 0;
    while (line < frame.size()) {
      auto nl = frame.find('\n', line);
      if (nl == std::string::npos) nl = frame.size();
      const std::string l = frame.substr(line, nl - line);
      if (l.starts_with("event: ")) event = l.substr(7);
      if (l.starts_with("data: ")) data += l.substr(6);
      line = nl + 1;
    }
    if (!event.empty()) out.emplace_back(event, json::parse(data, nullptr, false));
    pos = end + 2;
  }
  return out;
}

// A client on a raw socket, so a test can hang up in the middle of an answer.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) hang_up();
  }
  ~RawClient() { hang_up(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // POST /api/v1/chat with `body`, as server-sent events or JSON.
  bool post_chat(const std::string& token, const json& body, bool events) {
    const std::string text = body.dump();
    std::string req = fmt::format(
        "POST /api/v1/chat HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n"
        "{}Content-Length: {}\r\n\r\n{}",
        token, events ? "Accept: text/event-stream\r\n" : "", text.size(), text);
    std::string_view left(req);
    while (fd_ >= 0 && !left.empty()) {
      const auto n = ::send(fd_, left.data(), left.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      left.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd_ >= 0;
  }
  // Reads until `marker` has arrived (true) or `deadline` passed; what arrived is in received().
  bool read_until(const std::string& marker, std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (received_.find(marker) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (fd_ < 0 || left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  [[nodiscard]] const std::string& received() const { return received_; }
  void hang_up() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  std::string received_;
};

// A reply of `words` words (the fakes stream it a word a piece).
std::string long_reply(int words) {
  std::string text = "Charged twice [1]";
  for (int i = 0; i < words; ++i) text += " and then more";
  return text;
}

// The caller's only session's messages, once the session holds `count` of them (answers cut
// short are stored on the service's thread, after the client heard).
json session_messages(const std::string& token, std::size_t count) {
  json out;
  wait_until(
      [&] {
        auto list = gateway().request("GET", "/api/v1/chat/sessions", token);
        if (list.status != 200 || list.json["items"].size() != 1u) return false;
        auto d = gateway().request(
            "GET", fmt::format("/api/v1/chat/sessions/{}", list.json["items"][0]["id"].get<std::int64_t>()), token);
        if (d.status != 200 || d.json["messages"].size() != count) return false;
        out = d.json["messages"];
        return true;
      },
      10s, 20ms);
  return out;
}

TEST(ChatRoutes, OllamaAnswersWithCitationsAndTheTurnIsStoredInTheUsersSession) {
  auto& w = world();
  auto b = business({"ollama"});
  w.ollama.set_reply("The customer was charged twice [1]; refunds take five business days [2]. See also [5].");
  auto r = chat(b.admin, {{"question", "Why is the customer upset about the refund?"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["llm"], true);
  EXPECT_TRUE(r.json["offline_reason"].is_null());
  EXPECT_EQ(r.json["model"], "ollama:llama-test");
  EXPECT_EQ(r.json["answer"], "The customer was charged twice [1]; refunds take five business days [2]. See also.");
  ASSERT_EQ(r.json["citations"].size(), 2u) << r.body;
  EXPECT_EQ(r.json["citations"][0]["n"], 1);
  EXPECT_EQ(r.json["citations"][0]["kind"], "call");
  EXPECT_EQ(r.json["citations"][0]["call_id"], b.call);
  EXPECT_EQ(r.json["citations"][0]["start_ms"], 3'000);
  EXPECT_EQ(r.json["citations"][1]["kind"], "knowledge");
  EXPECT_EQ(r.json["citations"][1]["document_id"], 11);
  EXPECT_EQ(r.json["citations"][1]["title"], "Refund policy");
  EXPECT_EQ(r.json["citations"][1]["chunk_index"], 0);
  ASSERT_EQ(r.json["sources"].size(), 2u);
  EXPECT_EQ(r.json["sources"][0]["text"], "customer: my refund never arrived and I was charged twice");
  EXPECT_GE(r.json["latency_ms"].get<std::int64_t>(), 0);
  // The prompt went over Ollama's wire format with the system prompt and the numbered sources.
  const auto sent = json::parse(w.ollama.last_body());
  EXPECT_EQ(sent["messages"][0]["role"], "system");
  EXPECT_NE(sent["messages"].back()["content"].get<std::string>().find("<source n=\"1\""), std::string::npos);

  const auto session = r.json["session_id"].get<std::int64_t>();
  auto list = gateway().request("GET", "/api/v1/chat/sessions", b.admin);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json["items"].size(), 1u);
  EXPECT_EQ(list.json["items"][0]["id"], session);
  EXPECT_EQ(list.json["items"][0]["title"], "Why is the customer upset about the refund?");
  auto detail = gateway().request("GET", fmt::format("/api/v1/chat/sessions/{}", session), b.admin);
  ASSERT_EQ(detail.status, 200) << detail.body;
  ASSERT_EQ(detail.json["messages"].size(), 2u);
  EXPECT_EQ(detail.json["messages"][0]["role"], "user");
  EXPECT_EQ(detail.json["messages"][0]["content"], "Why is the customer upset about the refund?");
  EXPECT_EQ(detail.json["messages"][0]["sources"].size(), 2u);
  const auto& answer = detail.json["messages"][1];
  EXPECT_EQ(answer["role"], "assistant");
  EXPECT_EQ(answer["model"], "ollama:llama-test");
  EXPECT_EQ(answer["citations"].size(), 2u);
  EXPECT_EQ(answer["id"], r.json["message_id"]);
  EXPECT_GT(answer["input_tokens"].get<std::int64_t>(), 0);

  // The next question in the session carries the first turn to the model.
  w.ollama.set_reply("Five business days [2].");
  auto next = chat(b.admin, {{"question", "How long do refunds take?"}, {"session_id", session}});
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.json["session_id"], session);
  const auto again = json::parse(w.ollama.last_body());
  ASSERT_EQ(again["messages"].size(), 4u);  // system, the first question, its answer, the new one
  EXPECT_EQ(again["messages"][1]["content"], "Why is the customer upset about the refund?");
}

TEST(ChatRoutes, AFailingFirstProviderFallsBackToTheNextOneOverOpenAisWireFormat) {
  auto& w = world();
  auto b = business({"ollama", "openai"});
  w.ollama.fail_next(FailurePlan::of(1, FailureKind::kAuth));
  w.openai.set_reply("Charged twice [1].");
  auto r = chat(b.admin, {{"question", "what went wrong with the refund?"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["llm"], true);
  EXPECT_EQ(r.json["model"], "openai:gpt-test");
  EXPECT_EQ(r.json["answer"], "Charged twice [1].");
  ASSERT_EQ(r.json["citations"].size(), 1u);
}

TEST(ChatRoutes, StreamsTokensAsServerSentEventsThenTheCitations) {
  auto& w = world();
  auto b = business({"openai"});
  w.openai.set_reply("The refund never arrived [1] and the policy says five days [2] [8].");
  auto r = chat(b.admin, {{"question", "what about the refund?"}, {"scope", "all"}}, {{"Accept", "text/event-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("Content-Type").find("text/event-stream"), std::string::npos);
  const auto events = events_of(r.body);
  ASSERT_GE(events.size(), 4u) << r.body;
  EXPECT_EQ(events.front().first, "session");
  std::string text;
  int tokens = 0;
  for (const auto& [e, d] : events) {
    if (e == "token") {
      text += d["text"].get<std::string>();
      ++tokens;
    }
  }
  EXPECT_GT(tokens, 1) << r.body;  // token by token, as the provider streamed
  EXPECT_EQ(text, "The refund never arrived [1] and the policy says five days [2] [8].");
  const auto& [last, done] = events.back();
  ASSERT_EQ(last, "done") << r.body;
  EXPECT_EQ(done["answer"], "The refund never arrived [1] and the policy says five days [2].");
  EXPECT_EQ(done["citations"].size(), 2u);
  EXPECT_EQ(done["session_id"], events.front().second["session_id"]);
  EXPECT_EQ(done["model"], "openai:gpt-test");
  EXPECT_GT(w.openai.streamed_count(), 0);
}

TEST(ChatRoutes, AStreamThatFailsMidAnswerEndsWithAnErrorEvent) {
  auto& w = world();
  auto b = business({"ollama"});
  w.ollama.set_reply("Charged twice [1] and more words follow here.");
  w.ollama.set_stream_error(true);
  auto r = chat(b.admin, {{"question", "refund?"}}, {{"Accept", "text/event-stream"}});
  w.ollama.set_stream_error(false);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto events = events_of(r.body);
  ASSERT_FALSE(events.empty()) << r.body;
  EXPECT_EQ(events.back().first, "error") << r.body;
  EXPECT_EQ(events.back().second["error"]["code"], "unavailable") << r.body;
}

TEST(ChatRoutes, WithoutAnLlmTheAnswerIsExtractiveAndCited) {
  auto b = business({});
  const auto viewer = gateway().user_token(b.bid, "viewer");  // any role may chat
  auto r = chat(viewer, {{"question", "was the customer charged twice for the refund?"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["llm"], false);
  EXPECT_EQ(r.json["offline_reason"], "no_llm");
  EXPECT_TRUE(r.json["model"].is_null());
  EXPECT_TRUE(r.json["answer"].get<std::string>().starts_with("No LLM is configured")) << r.body;
  EXPECT_NE(r.json["answer"].get<std::string>().find("charged twice [1]"), std::string::npos) << r.body;
  ASSERT_FALSE(r.json["citations"].empty());
  EXPECT_EQ(r.json["citations"][0]["call_id"], b.call);
  // Streaming too: the extractive answer as one token, then done.
  auto s = chat(viewer, {{"question", "refund charged twice?"}}, {{"Accept", "text/event-stream"}});
  ASSERT_EQ(s.status, 200);
  const auto events = events_of(s.body);
  ASSERT_EQ(events.size(), 3u) << s.body;
  EXPECT_EQ(events[1].first, "token");
  EXPECT_EQ(events[2].first, "done");
  EXPECT_EQ(events[2].second["llm"], false);
}

TEST(ChatRoutes, ASpentTokenBudgetAnswersExtractivelyWithoutCallingTheLlm) {
  auto& w = world();
  auto b = business({"ollama"});
  const std::string day = queue::format_utc(storage::to_timestamp(std::chrono::system_clock::now())).substr(0, 10);
  ASSERT_TRUE(w.tokens->add(b.bid + ":" + day, 100'000, 1h));
  const int before = w.ollama.chat_count();
  auto r = chat(b.admin, {{"question", "refund charged twice?"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["llm"], false);
  EXPECT_EQ(r.json["offline_reason"], "budget_spent");
  EXPECT_TRUE(r.json["answer"].get<std::string>().starts_with("This business has spent its daily LLM token budget"));
  EXPECT_FALSE(r.json["citations"].empty());
  EXPECT_EQ(w.ollama.chat_count(), before);
}

TEST(ChatRoutes, AnLlmAnswerIsChargedToTheBusinesssDailyBudget) {
  auto& w = world();
  auto b = business({"ollama"});
  w.ollama.set_reply("Charged twice [1].");
  ASSERT_EQ(chat(b.admin, {{"question", "refund?"}}).status, 200);
  const std::string day = queue::format_utc(storage::to_timestamp(std::chrono::system_clock::now())).substr(0, 10);
  auto used = w.tokens->get(b.bid + ":" + day);
  ASSERT_TRUE(used);
  EXPECT_GT(*used, 0);
}

TEST(ChatRoutes, SessionsAreTheirUsersOwnOtherUsersAndBusinessesGet404) {
  auto b = business({});
  auto other = business({});
  auto& gw = gateway();
  const auto viewer = gw.user_token(b.bid, "viewer");
  const auto analyst = gw.user_token(b.bid, "analyst");
  auto r = chat(viewer, {{"question", "refund?"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto path = fmt::format("/api/v1/chat/sessions/{}", r.json["session_id"].get<std::int64_t>());
  EXPECT_EQ(gw.request("GET", path, viewer).status, 200);
  for (const auto& token : {analyst, b.admin, other.admin}) {
    auto got = gw.request("GET", path, token);
    EXPECT_EQ(got.status, 404) << got.body;
    EXPECT_EQ(got.json["error"]["code"], "not_found");
    // Nor may they add to it.
    auto add = chat(token, {{"question", "mine now?"}, {"session_id", r.json["session_id"]}});
    EXPECT_EQ(add.status, 404) << add.body;
  }
  // The platform admin acting on the business sees only its own sessions.
  EXPECT_EQ(gw.request("GET", path, gw.platform_token, nullptr, {{"X-Earshot-Business", b.bid}}).status, 404);
  auto mine = gw.request("GET", "/api/v1/chat/sessions", analyst);
  ASSERT_EQ(mine.status, 200);
  EXPECT_TRUE(mine.json["items"].empty());
  EXPECT_EQ(gw.request("GET", "/api/v1/chat/sessions/999999999999", viewer).status, 404);
  // Still two messages: nothing was appended by the others.
  EXPECT_EQ(gw.request("GET", path, viewer).json["messages"].size(), 2u);
}

TEST(ChatRoutes, BadInputIs400WithAReasonAndForeignCallsAre404) {
  auto b = business({});
  auto other = business({});
  auto& gw = gateway();
  struct Case {
    json body;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"question", ""}}, "question"},
      {{{"question", "   \n "}}, "question is empty"},
      {{{"question", std::string(10'000, 'a')}}, "question"},
      {json::object(), "question"},
      {{{"question", 42}}, "question"},
      {{{"question", "q"}, {"scope", "everything"}}, "scope"},
      {{{"question", "q"}, {"scope", "call"}}, "call_id"},
      {{{"question", "q"}, {"call_id", b.call}}, "call_id goes with scope call"},
      {{{"question", "q"}, {"scope", "knowledge"}, {"filters", {{"status", "analyzed"}}}}, "filters"},
      {{{"question", "q"}, {"filters", {{"status", "done"}}}}, "filters.status"},
      {{{"question", "q"}, {"filters", {{"from", "yesterday"}}}}, "filters.from"},
      {{{"question", "q"}, {"filters", {{"from", "2026-12-02"}, {"to", "2026-12-01"}}}}, "before"},
      {{{"question", "q"}, {"filters", {{"agent_id", "x"}}}}, "agent_id"},
      {{{"question", "q"}, {"filters", {{"region", "north"}}}}, "region"},
      {{{"question", "q"}, {"filters", "status=analyzed"}}, "filters must be an object"},
      {{{"question", "q"}, {"session_id", -3}}, "session_id"},
      {{{"question", "q"}, {"prompt", "you are root"}}, "unknown field"},
  };
  for (const auto& c : cases) {
    auto r = chat(b.admin, c.body);
    EXPECT_EQ(r.status, 400) << c.body.dump().substr(0, 200) << " -> " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "invalid_argument");
    EXPECT_NE(r.json["error"]["message"].get<std::string>().find(c.says), std::string::npos)
        << c.body.dump().substr(0, 200) << " -> " << r.body;
  }
  // 4000 bytes is still a question.
  EXPECT_EQ(chat(b.admin, {{"question", std::string(4000, 'a')}}).status, 200);
  // Another business's call, or an unknown session, is as missing as a call that never was.
  auto foreign = chat(b.admin, {{"question", "q"}, {"scope", "call"}, {"call_id", other.call}});
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_EQ(chat(b.admin, {{"question", "q"}, {"session_id", 999999999999}}).status, 404);
  // One call's scope asks the retriever for that call's passages only.
  auto own = chat(b.admin, {{"question", "refund charged twice?"}, {"scope", "call"}, {"call_id", b.call}});
  ASSERT_EQ(own.status, 200) << own.body;
  ASSERT_EQ(own.json["sources"].size(), 1u);
  EXPECT_EQ(own.json["sources"][0]["call_id"], b.call);
  // API keys may not chat (sessions belong to users).
  auto key = gw.request("POST", "/api/v1/admin/businesses/" + b.bid + "/api-keys", b.admin,
                        {{"name", "k"}, {"scopes", {"read"}}});
  ASSERT_EQ(key.status, 201);
  EXPECT_EQ(chat(key.json["secret"].get<std::string>(), {{"question", "q"}}).status, 403);
}

TEST(ChatRoutes, OverTheBusinesssRateLimitIs429WithRetryAfter) {
  auto b = business({});
  auto other = business({});
  int ok = 0;
  HttpReply last;
  for (int i = 0; i < kChatsPerMinute + 2; ++i) {
    last = chat(b.admin, {{"question", "refund?"}});
    if (last.status == 200) ++ok;
    if (last.status == 429) break;
  }
  EXPECT_GE(ok, kChatsPerMinute - 1);  // a token may refill while the loop runs
  ASSERT_EQ(last.status, 429) << last.body;
  EXPECT_EQ(last.json["error"]["code"], "rate_limited");
  EXPECT_GE(std::stoi(last.header("Retry-After")), 1);
  // The limit is the business's: another business still chats.
  EXPECT_EQ(chat(other.admin, {{"question", "refund?"}}).status, 200);
}

TEST(ChatRoutes, JsonChatsWaitingForTheLlmHoldNoListenerThread) {
  auto& w = world();
  // A gateway of its own with two listener threads, and an LLM that holds every answer.
  Gateway small(api::RateLimitOptions{true, 1'000'000, 1'000'000, std::chrono::seconds(60)}, std::int64_t{64} * 1024,
                {}, {}, nullptr, 2);
  small.services().retriever = &w.retriever;
  small.services().llm = w.llm.get();
  small.services().rag.chat_timeout = 30s;
  FakeOllama held;
  ASSERT_TRUE(held.start());
  held.set_reply("Charged twice [1].");
  const std::string bid = small.new_business("slowchat");
  const std::string admin = small.user_token(bid, "admin");
  w.retriever.add_call(bid, 1, 0, "customer: my refund never arrived and I was charged twice");
  json chain = json::array({{{"provider", "ollama"}, {"model", "llama-test"}, {"base_url", held.base_url()}}});
  ASSERT_EQ(small.request("PUT", "/api/v1/admin/businesses/" + bid + "/pipeline-config", admin, {{"llm_chain", chain}})
                .status,
            200);
  held.hold(true);
  constexpr int kChats = 4;  // twice the listener threads
  std::vector<std::future<HttpReply>> chats;
  chats.reserve(kChats);
  for (int i = 0; i < kChats; ++i) {
    chats.push_back(std::async(std::launch::async, [&] {
      return small.request("POST", "/api/v1/chat", admin, {{"question", "why was the refund late?"}});
    }));
  }
  // Every chat reached the LLM at once: none holds a listener thread while it waits.
  const bool all_asked = wait_until([&] { return held.count("/api/chat") == kChats; }, 10s, 10ms);
  if (!all_asked) held.hold(false);  // let the chats end before failing
  ASSERT_TRUE(all_asked) << held.count("/api/chat") << " of " << kChats << " chats reached the LLM";
  // Meanwhile other requests are answered, while the chats are still waiting.
  EXPECT_EQ(small.request("GET", "/healthz").status, 200);
  auto sessions = small.request("GET", "/api/v1/chat/sessions", admin);
  EXPECT_EQ(sessions.status, 200) << sessions.body;
  for (auto& c : chats) EXPECT_EQ(c.wait_for(0s), std::future_status::timeout);
  held.hold(false);
  for (auto& c : chats) {
    auto r = c.get();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json["answer"], "Charged twice [1].");
    EXPECT_TRUE(r.json["incomplete"].is_null());
  }
}

TEST(ChatRoutes, AStreamWhoseClientHangsUpStopsTheLlmAndIsStoredCutShort) {
  auto& w = world();
  auto b = business({"ollama"});
  const std::string reply = long_reply(80);  // 241 pieces 50 ms apart: 12 s to the end
  w.ollama.set_reply(reply);
  w.ollama.set_stream_delay(50ms);
  const int abandoned = w.ollama.abandoned_streams();
  {
    RawClient client(gateway().port);
    ASSERT_TRUE(client.post_chat(b.admin, {{"question", "why was the refund late?"}}, true));
    ASSERT_TRUE(client.read_until("event: token", 10s)) << client.received();
  }  // hangs up after the first piece
  // The gateway aborts its request to the LLM: the fake's next write fails, long before its end.
  EXPECT_TRUE(wait_until([&] { return w.ollama.abandoned_streams() == abandoned + 1; }, 5s, 10ms));
  w.ollama.set_stream_delay(0ms);
  // The turn is stored with the text that had arrived, marked.
  const json messages = session_messages(b.admin, 2);
  ASSERT_EQ(messages.size(), 2u);
  const auto& answer = messages[1];
  EXPECT_EQ(answer["incomplete"], "client_gone");
  const auto content = answer["content"].get<std::string>();
  EXPECT_FALSE(content.empty());
  EXPECT_LT(content.size(), reply.size());
  EXPECT_TRUE(reply.starts_with(content)) << content;
  EXPECT_EQ(answer["model"], "ollama:llama-test");
}

TEST(ChatRoutes, AJsonChatWhoseClientHangsUpIsCutShortAndStored) {
  auto& w = world();
  auto b = business({"ollama"});
  w.ollama.set_reply("Charged twice [1].");
  w.ollama.hold(true);
  const int before = w.ollama.count("/api/chat");
  {
    RawClient client(gateway().port);
    ASSERT_TRUE(client.post_chat(b.admin, {{"question", "why was the refund late?"}}, false));
    const bool asked = wait_until([&] { return w.ollama.count("/api/chat") == before + 1; }, 10s, 10ms);
    if (!asked) w.ollama.hold(false);
    ASSERT_TRUE(asked);
  }  // hangs up while the LLM holds its answer
  // Stored cut short while the LLM still holds it: the turn did not wait for the answer.
  const json messages = session_messages(b.admin, 2);
  w.ollama.hold(false);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1]["incomplete"], "client_gone");
  EXPECT_EQ(messages[1]["content"], "");
}

TEST(ChatRoutes, PastTheChatDeadlineTheLlmIsStoppedAndTheTurnStoredAsTimedOut) {
  auto& w = world();
  auto& s = gateway().services();
  s.rag.chat_timeout = 1s;
  auto b = business({"ollama"});
  const std::string reply = long_reply(80);
  w.ollama.set_reply(reply);
  w.ollama.set_stream_delay(50ms);  // 12 s to the end
  const int abandoned = w.ollama.abandoned_streams();
  auto streamed = chat(b.admin, {{"question", "why was the refund late?"}}, {{"Accept", "text/event-stream"}});
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  const auto events = events_of(streamed.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().first, "error") << streamed.body;
  EXPECT_EQ(events.back().second["error"]["code"], "timeout") << streamed.body;
  EXPECT_TRUE(wait_until([&] { return w.ollama.abandoned_streams() == abandoned + 1; }, 5s, 10ms));
  w.ollama.set_stream_delay(0ms);
  const json messages = session_messages(b.admin, 2);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1]["incomplete"], "timeout");
  EXPECT_TRUE(reply.starts_with(messages[1]["content"].get<std::string>()));
  // The JSON form: 504 at the deadline.
  auto other = business({"ollama"});
  w.ollama.hold(true);
  auto r = chat(other.admin, {{"question", "refund?"}});
  w.ollama.hold(false);
  s.rag.chat_timeout = 20s;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.json["error"]["code"], "timeout");
  const json timed_out = session_messages(other.admin, 2);
  ASSERT_EQ(timed_out.size(), 2u);
  EXPECT_EQ(timed_out[1]["incomplete"], "timeout");
}

}  // namespace
}  // namespace earshot::testing

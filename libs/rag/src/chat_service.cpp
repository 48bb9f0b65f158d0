#include "earshot/rag/chat_service.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "earshot/core/log.hpp"
#include "earshot/llm/agent.hpp"

namespace earshot::rag {

std::string_view offline_reason_name(OfflineReason r) {
  switch (r) {
    case OfflineReason::kNone:
      return "";
    case OfflineReason::kNoLlm:
      return "no_llm";
    case OfflineReason::kBudgetSpent:
      return "budget_spent";
    case OfflineReason::kLlmFailed:
      return "llm_failed";
    case OfflineReason::kNoSources:
      return "no_sources";
  }
  return "";
}

std::string_view incomplete_name(Incomplete r) {
  switch (r) {
    case Incomplete::kNone:
      return "";
    case Incomplete::kClientGone:
      return "client_gone";
    case Incomplete::kTimeout:
      return "timeout";
    case Incomplete::kLlmFailed:
      return "llm_failed";
  }
  return "";
}

namespace {

using Steady = std::chrono::steady_clock;
using nlohmann::json;

// Every key, null where it does not apply to the source's kind.
json source_fields(const ChatSource& s) {
  const bool call = s.kind == SourceKind::kCall;
  json j{{"n", s.number}, {"kind", call ? "call" : "knowledge"}};
  j["call_id"] = call ? json(s.call_id) : json(nullptr);
  j["start_ms"] = call && s.start_ms >= 0 ? json(s.start_ms) : json(nullptr);
  j["chunk_start_ms"] = call && s.chunk_start_ms >= 0 ? json(s.chunk_start_ms) : json(nullptr);
  j["chunk_end_ms"] = call && s.chunk_end_ms >= 0 ? json(s.chunk_end_ms) : json(nullptr);
  j["document_id"] = call ? json(nullptr) : json(s.document_id);
  j["title"] = call ? json(nullptr) : json(s.document_title);
  j["chunk_index"] = call ? json(nullptr) : json(s.chunk_index);
  return j;
}

// The session's title: the question's first line, cut at a UTF-8 boundary.
std::string title_of(std::string_view question) {
  std::string_view t = question.substr(0, question.find('\n'));
  constexpr std::size_t kMax = 120;
  if (t.size() > kMax) {
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
    t = t.substr(0, cut);
  }
  return std::string(t);
}

constexpr std::string_view kNoLlmPrefix = "No LLM is configured for this business";

// The extractive answer, its first line saying why no LLM answered.
CitedAnswer offline_answer(std::string_view question, std::span<const ChatSource> sources, OfflineReason why,
                           std::size_t sentences) {
  if (why == OfflineReason::kNoSources) {
    return {
        "Nothing in this business's calls or knowledge base matches the question (and the filters), so there "
        "is nothing to answer from.",
        {}};
  }
  CitedAnswer a = extractive_answer(question, sources, sentences);
  std::string_view instead;
  if (why == OfflineReason::kBudgetSpent) instead = "This business has spent its daily LLM token budget for chat";
  if (why == OfflineReason::kLlmFailed) instead = "The LLM did not answer (every provider of the chain failed)";
  if (!instead.empty() && a.text.starts_with(kNoLlmPrefix)) {
    a.text = std::string(instead) + a.text.substr(kNoLlmPrefix.size());
  }
  return a;
}

}  // namespace

std::string sources_json(const std::vector<Retrieved>& sources, bool with_text) {
  json out = json::array();
  for (const auto& r : sources) {
    json j = source_fields(r.source);
    const bool call = r.source.kind == SourceKind::kCall;
    j["end_ms"] = call && r.source.end_ms >= 0 ? json(r.source.end_ms) : json(nullptr);
    j["speaker"] = call && !r.source.speaker.empty() ? json(r.source.speaker) : json(nullptr);
    j["score"] = r.score;
    if (with_text) j["text"] = r.source.text;
    out.push_back(std::move(j));
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string citations_json(const std::vector<Citation>& citations) {
  json out = json::array();
  for (const auto& c : citations) out.push_back(source_fields(c.source));
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- the turn ------------------------------------------------------------------------------

struct ChatService::Turn {
  explicit Turn(ChatQuestion q) : question(std::move(q)) {}
  ChatQuestion question;
  ChatLlm llm;
  storage::Id session_id = 0;
  storage::Id question_id = 0;
  std::vector<Retrieved> retrieved;
  std::vector<ChatSource> sources;  // all retrieved, for the extractive answer
  std::vector<ChatSource> offered;  // those the prompt carries, for the citations
  ChatPrompt prompt;
  OfflineReason offline = OfflineReason::kNone;
  Steady::time_point started;
  // Fired by cancel() and the deadline: aborts the provider's request in flight.
  std::shared_ptr<http::CancelSignal> cancel = std::make_shared<http::CancelSignal>();

  std::function<void(std::string_view)> on_token;
  std::function<void(Result<ChatAnswer>)> done;
  std::mutex mu;
  bool finished = false;  // done was (or is being) called
  bool stored = false;    // the answer was (or is being) stored
  bool cancelled = false;
  bool any_token = false;
  bool asked = false;                         // a provider was asked (its tokens count)
  std::string model;                          // the provider asked last
  std::string received;                       // the pieces it passed on (streams)
  Incomplete incomplete = Incomplete::kNone;  // set when the turn was cut short
};

// ---- the service's thread: stores answers and keeps deadlines ----------------------------------

struct ChatService::Impl : std::enable_shared_from_this<ChatService::Impl> {
  Impl(Retriever& r, storage::ChatRepository& c, const Clock& k, TokenBudget* b, ChatServiceSettings s)
      : retriever(r), chats(c), clock(k), budget(b), settings(s) {
    worker = std::thread([this] { run(); });
  }
  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    worker.join();
  }

  // Tasks run on the service's thread and are dropped when the service goes: they hold the
  // service by plain pointer (never a shared_ptr, so it is never destroyed on its own thread).
  // Provider callbacks hold it by shared_ptr, so a late callback finds it alive.
  void post_at(Steady::time_point when, std::function<void()> fn) {
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      tasks.emplace(when, std::move(fn));
    }
    cv.notify_all();
  }

  void run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      if (tasks.empty()) {
        cv.wait(lock, [&] { return stopping || !tasks.empty(); });
        continue;
      }
      const auto due = tasks.begin()->first;
      if (Steady::now() < due) {
        cv.wait_until(lock, due);
        continue;
      }
      auto fn = std::move(tasks.begin()->second);
      tasks.erase(tasks.begin());
      lock.unlock();
      fn();
      fn = nullptr;
      lock.lock();
    }
    tasks.clear();
  }

  // Marks the turn finished; false when it already was (the deadline or the answer won).
  static bool claim(Turn& turn) {
    std::lock_guard lock(turn.mu);
    if (turn.finished) return false;
    turn.finished = true;
    return true;
  }
  // Marks the answer stored; false when it already was (one answer message per turn).
  static bool claim_store(Turn& turn) {
    std::lock_guard lock(turn.mu);
    if (turn.stored) return false;
    turn.stored = true;
    return true;
  }

  void try_provider(const std::shared_ptr<Turn>& turn, std::size_t index);
  void finish_llm(const std::shared_ptr<Turn>& turn, const llm::ChatResponse& response, const std::string& model);
  void finish_offline(const std::shared_ptr<Turn>& turn, OfflineReason why);
  // The turn was cut short (`why`): stores what the provider had passed on, then delivers
  // `error` (or, with none, the stored partial answer) unless the turn was delivered already.
  void finish_partial(const std::shared_ptr<Turn>& turn, Incomplete why, std::optional<Error> error);
  // The deadline: delivers kTimeout at once, aborts the provider, stores what had arrived.
  void time_out(const std::shared_ptr<Turn>& turn, std::chrono::milliseconds timeout);
  // Stores the answer (unless the turn's answer was stored already), then delivers it.
  void store_and_deliver(const std::shared_ptr<Turn>& turn, ChatAnswer answer);
  [[nodiscard]] Result<storage::Id> store(const Turn& turn, ChatAnswer& a);

  Retriever& retriever;
  storage::ChatRepository& chats;
  const Clock& clock;
  TokenBudget* budget;
  ChatServiceSettings settings;

  std::mutex mu;
  std::condition_variable cv;
  std::multimap<Steady::time_point, std::function<void()>> tasks;
  bool stopping = false;
  std::thread worker;
};

ChatService::ChatService(Retriever& retriever, storage::ChatRepository& chats, const Clock& clock, TokenBudget* budget,
                         ChatServiceSettings settings)
    : impl_(std::make_shared<Impl>(retriever, chats, clock, budget, settings)) {}

ChatService::~ChatService() = default;

storage::Id ChatService::session_of(const Turn& turn) {
  return turn.session_id;
}

void ChatService::cancel(Turn& turn) {
  {
    std::lock_guard lock(turn.mu);
    turn.cancelled = true;
    if (turn.incomplete == Incomplete::kNone) turn.incomplete = Incomplete::kClientGone;
  }
  // Outside the turn's lock: the provider's abort may call back into the turn.
  turn.cancel->cancel();
}

Result<std::shared_ptr<ChatService::Turn>> ChatService::begin(const ChatQuestion& q, ChatLlm llm) {
  auto& m = *impl_;
  auto turn = std::make_shared<Turn>(q);
  turn->started = m.clock.steady_now();
  const auto& t = q.tenant;
  std::vector<llm::ChatMessage> history;
  if (q.session_id) {
    auto session = m.chats.get_session(t, q.user_id, *q.session_id);
    if (!session) return std::unexpected(session.error());
    turn->session_id = session->id;
    auto previous = m.chats.messages(t, q.user_id, session->id, std::max(1, m.settings.history_messages));
    if (!previous) return std::unexpected(previous.error());
    for (const auto& msg : *previous) {
      if (msg.content.empty()) continue;  // an answer cut short before its first word
      history.push_back({msg.role == storage::ChatRole::kUser ? "user" : "assistant", msg.content});
    }
  }
  RetrievalQuery rq = q.retrieval;
  rq.text = q.question;
  auto found = m.retriever.search(t, rq, llm.embedder);
  if (!found) return std::unexpected(found.error());
  turn->retrieved = std::move(*found);
  for (const auto& r : turn->retrieved) turn->sources.push_back(r.source);
  turn->prompt = build_chat_request(q.question, turn->sources, history, m.settings.prompt);
  turn->prompt.request.cancel = turn->cancel;
  for (int n : turn->prompt.source_numbers) {
    for (const auto& s : turn->sources) {
      if (s.number == n) turn->offered.push_back(s);
    }
  }
  if (turn->sources.empty()) {
    turn->offline = OfflineReason::kNoSources;
  } else if (llm.chain.empty()) {
    turn->offline = OfflineReason::kNoLlm;
  } else if (m.budget != nullptr) {
    auto spent = m.budget->spent(t);
    if (!spent) {
      log::warn("chat token budget unreadable; the LLM answers", {{"bid", t.bid()}, {"error", spent.error().message}});
    } else if (*spent) {
      turn->offline = OfflineReason::kBudgetSpent;
    }
  }
  turn->llm = std::move(llm);
  if (!q.session_id) {
    auto id = m.chats.create_session(t, q.user_id, title_of(q.question));
    if (!id) return std::unexpected(id.error());
    turn->session_id = *id;
  }
  storage::ChatMessageInput asked;
  asked.role = storage::ChatRole::kUser;
  asked.content = q.question;
  asked.sources_json = sources_json(turn->retrieved, false);
  auto qid = m.chats.append_message(t, q.user_id, turn->session_id, asked);
  if (!qid) return std::unexpected(qid.error());
  turn->question_id = *qid;
  return turn;
}

void ChatService::answer(const std::shared_ptr<Turn>& turn, std::function<void(std::string_view)> on_token,
                         std::function<void(Result<ChatAnswer>)> done, std::chrono::milliseconds timeout) {
  auto impl = impl_;
  turn->on_token = std::move(on_token);
  turn->done = std::move(done);
  // The deadline: whatever is still running then is abandoned (its late callbacks find the
  // turn finished) and the turn ends with kTimeout.
  std::weak_ptr<Turn> weak = turn;
  Impl* m = impl.get();
  m->post_at(Steady::now() + timeout, [m, weak, timeout] {
    if (auto t = weak.lock()) m->time_out(t, timeout);
  });
  if (turn->offline != OfflineReason::kNone) {
    m->post_at(Steady::now(), [m, turn] { m->finish_offline(turn, turn->offline); });
    return;
  }
  impl->try_provider(turn, 0);
}

void ChatService::Impl::time_out(const std::shared_ptr<Turn>& turn, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(turn->mu);
    if (turn->finished) return;
    turn->finished = true;
    if (turn->incomplete == Incomplete::kNone) turn->incomplete = Incomplete::kTimeout;
  }
  log::warn("chat answer timed out", {{"bid", turn->question.tenant.bid()}});
  turn->cancel->cancel();
  turn->done(make_error(ErrorCode::kTimeout,
                        fmt::format("the answer took longer than {} ms; try a narrower question", timeout.count())));
  Incomplete why = Incomplete::kTimeout;
  {
    std::lock_guard lock(turn->mu);
    why = turn->incomplete;
  }
  finish_partial(turn, why, std::nullopt);
}

void ChatService::Impl::try_provider(const std::shared_ptr<Turn>& turn, std::size_t index) {
  auto self = shared_from_this();
  llm::ChatProvider* provider = turn->llm.chain[index];
  auto on_done = [self, turn, index, provider](Result<llm::ChatResponse> r) {
    if (r) {
      Impl* m = self.get();
      m->post_at(Steady::now(),
                 [m, turn, response = std::move(*r), id = provider->id()] { m->finish_llm(turn, response, id); });
      return;
    }
    bool streamed = false;
    Incomplete cut = Incomplete::kNone;
    {
      std::lock_guard lock(turn->mu);
      if (turn->stored) return;
      streamed = turn->any_token;
      cut = turn->incomplete;
    }
    Impl* m = self.get();
    if (cut != Incomplete::kNone) {
      // Cancelled (the client went away) or past the deadline: no other provider is asked.
      m->post_at(Steady::now(), [m, turn, cut] { m->finish_partial(turn, cut, std::nullopt); });
      return;
    }
    log::warn("chat provider failed",
              {{"bid", turn->question.tenant.bid()}, {"provider", provider->id()}, {"error", r.error().message}});
    if (streamed) {
      // Text was passed on already: another provider's answer cannot follow it.
      Error e(ErrorCode::kUnavailable, "the LLM failed in the middle of its answer: " + r.error().message);
      m->post_at(Steady::now(), [m, turn, e] { m->finish_partial(turn, Incomplete::kLlmFailed, e); });
      return;
    }
    if (index + 1 < turn->llm.chain.size()) {
      self->try_provider(turn, index + 1);
      return;
    }
    m->post_at(Steady::now(), [m, turn] { m->finish_offline(turn, OfflineReason::kLlmFailed); });
  };
  if (turn->cancel->cancelled()) {
    // Cut short before this provider was asked (the request would be aborted at once).
    on_done(make_error(ErrorCode::kUnavailable, "cancelled"));
    return;
  }
  {
    std::lock_guard lock(turn->mu);
    turn->asked = true;
    turn->model = provider->id();
  }
  if (!turn->on_token) {
    provider->complete(turn->prompt.request, std::move(on_done));
    return;
  }
  provider->stream(
      turn->prompt.request,
      [turn](std::string_view piece) {
        std::lock_guard lock(turn->mu);
        // After a cancel or the deadline: what arrives until the abort is neither shown nor kept.
        if (turn->finished || turn->stored || turn->cancelled) return;
        turn->any_token = true;
        turn->received += piece;
        turn->on_token(piece);
      },
      std::move(on_done));
}

void ChatService::Impl::finish_llm(const std::shared_ptr<Turn>& turn, const llm::ChatResponse& response,
                                   const std::string& model) {
  {
    std::lock_guard lock(turn->mu);
    if (turn->stored) return;  // the deadline stored what had arrived before this
  }
  ChatAnswer a;
  CitedAnswer cited = extract_citations(response.text, turn->offered);
  a.text = std::move(cited.text);
  a.citations = std::move(cited.citations);
  a.model = model;
  a.llm = true;
  a.input_tokens = response.input_tokens > 0 ? response.input_tokens : turn->prompt.estimated_tokens;
  a.output_tokens = response.output_tokens > 0 ? response.output_tokens : llm::estimate_tokens(response.text);
  if (budget != nullptr) budget->charge(turn->question.tenant, a.input_tokens + a.output_tokens);
  store_and_deliver(turn, std::move(a));
}

void ChatService::Impl::finish_partial(const std::shared_ptr<Turn>& turn, Incomplete why, std::optional<Error> error) {
  ChatAnswer a;
  bool asked = false;
  {
    std::lock_guard lock(turn->mu);
    if (turn->stored) return;
    a.text = turn->received;
    a.model = turn->model;
    asked = turn->asked;
  }
  CitedAnswer cited = extract_citations(a.text, turn->offered);
  a.text = std::move(cited.text);
  a.citations = std::move(cited.citations);
  a.llm = asked;
  a.incomplete = why;
  if (asked) {
    // The provider read the prompt and wrote what arrived: charged as estimated.
    a.input_tokens = turn->prompt.estimated_tokens;
    a.output_tokens = a.text.empty() ? 0 : llm::estimate_tokens(a.text);
    if (budget != nullptr) budget->charge(turn->question.tenant, a.input_tokens + a.output_tokens);
  }
  if (!claim_store(*turn)) return;
  auto id = store(*turn, a);
  if (!Impl::claim(*turn)) {
    // Delivered already (the deadline's kTimeout): nobody else hears of a failed write.
    if (!id) log::warn("chat answer not stored", {{"bid", turn->question.tenant.bid()}, {"error", id.error().message}});
    return;
  }
  if (error) {
    turn->done(std::unexpected(std::move(*error)));
  } else if (!id) {
    turn->done(std::unexpected(id.error()));
  } else {
    a.answer_id = *id;
    turn->done(std::move(a));
  }
}

void ChatService::Impl::finish_offline(const std::shared_ptr<Turn>& turn, OfflineReason why) {
  {
    std::lock_guard lock(turn->mu);
    if (turn->finished || turn->stored) return;
  }
  CitedAnswer cited = offline_answer(turn->question.question, turn->sources, why, settings.extractive_sentences);
  {
    std::lock_guard lock(turn->mu);
    if (turn->on_token && !turn->cancelled && !turn->finished) turn->on_token(cited.text);
  }
  ChatAnswer a;
  a.text = std::move(cited.text);
  a.citations = std::move(cited.citations);
  a.offline = why;
  store_and_deliver(turn, std::move(a));
}

Result<storage::Id> ChatService::Impl::store(const Turn& turn, ChatAnswer& a) {
  a.session_id = turn.session_id;
  a.question_id = turn.question_id;
  a.sources = turn.retrieved;
  a.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(clock.steady_now() - turn.started, Steady::duration{}));
  storage::ChatMessageInput m;
  m.role = storage::ChatRole::kAssistant;
  m.content = a.text;
  m.sources_json = sources_json(a.sources, false);
  m.citations_json = citations_json(a.citations);
  m.model = a.model;
  m.latency_ms = a.latency.count();
  m.input_tokens = a.input_tokens;
  m.output_tokens = a.output_tokens;
  m.incomplete = std::string(incomplete_name(a.incomplete));
  return chats.append_message(turn.question.tenant, turn.question.user_id, turn.session_id, m);
}

void ChatService::Impl::store_and_deliver(const std::shared_ptr<Turn>& turn, ChatAnswer a) {
  if (!claim_store(*turn)) return;
  auto id = store(*turn, a);
  if (!Impl::claim(*turn)) return;
  if (!id) {
    turn->done(std::unexpected(id.error()));
    return;
  }
  a.answer_id = *id;
  turn->done(std::move(a));
}

Result<ChatAnswer> ChatService::ask(const ChatQuestion& q, ChatLlm llm, std::chrono::milliseconds timeout) {
  auto turn = begin(q, std::move(llm));
  if (!turn) return std::unexpected(turn.error());
  auto promise = std::make_shared<std::promise<Result<ChatAnswer>>>();
  auto future = promise->get_future();
  answer(
      *turn, nullptr, [promise](Result<ChatAnswer> r) { promise->set_value(std::move(r)); }, timeout);
  return future.get();  // answer() always calls done: the answer, an error or the deadline
}

}  // namespace earshot::rag

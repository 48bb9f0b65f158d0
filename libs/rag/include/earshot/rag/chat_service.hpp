#pragma once
// ChatService: one chat turn over a business's calls and knowledge base, from the question to
// the stored answer (docs/rag.md, "Chat").
//
// A turn has a synchronous part and an asynchronous one:
// 1. begin() (on the caller's thread): the session (the user's own, or a new one), retrieval
//    (Retriever), the session's history, the prompt (build_chat_request), the question stored
//    as the session's next message. Decides whether the LLM answers: not when the chain is
//    empty (no LLM configured), when the business's token budget is spent, or when nothing
//    was retrieved.
// 2. answer(): the business's chain in order; a provider that fails before passing on any
//    text hands the turn to the next one; when every provider failed (or the LLM is not to
//    answer) the answer is extractive (extractive_answer: the best passages, each cited, with
//    a first line saying why no LLM answered). Citations that name no source the prompt
//    carried are dropped (extract_citations). The answer is stored with its sources,
//    citations, model, latency and tokens; the tokens are charged to the budget.
//    `done` is called exactly once, on the service's own thread, never on the caller's; a
//    provider failing after it passed on text ends the turn with kUnavailable (the text
//    already streamed cannot be taken back), and the deadline passing ends it with kTimeout.
//
// Streaming: `on_token` gets the answer's text piece by piece as the provider sends it
// (on the provider's thread: it must be short), the extractive answer as one piece.
//
// Cut short: cancel() (the client went away) and the deadline abort the provider's request
// in flight (ChatRequest::cancel: its connection is closed, so the provider stops
// generating) and no other provider is asked. Whatever happens, a turn that reached the LLM
// is stored: the whole answer, or the text received until it stopped with the reason
// (ChatAnswer::incomplete: client_gone, timeout, llm_failed).
//
// Tenancy: every read and write names the question's tenant and user; a session that is not
// the user's is kNotFound, like a missing one.
//
// Thread safety: every member may be called from any thread. The service owns one thread
// (answers are stored and deadlines kept there); it must outlive the turns it began (its
// destructor drops turns still queued on that thread without finishing them).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/llm/chat.hpp"
#include "earshot/rag/chat_prompt.hpp"
#include "earshot/rag/retriever.hpp"
#include "earshot/storage/rag_repositories.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::rag {

// A business's daily allowance of LLM tokens for chat (the gateway's is a counter in Redis).
class TokenBudget {
 public:
  virtual ~TokenBudget() = default;
  // True once the business has spent its allowance (for today). An error lets the LLM answer.
  [[nodiscard]] virtual Result<bool> spent(const storage::TenantId& t) = 0;
  // Counts `tokens` (prompt and answer) against the business's allowance.
  virtual void charge(const storage::TenantId& t, std::int64_t tokens) = 0;
};

struct ChatQuestion {
  explicit ChatQuestion(storage::TenantId t) : tenant(std::move(t)) {}
  storage::TenantId tenant;
  storage::Id user_id = 0;                // whose session (see ChatRepository)
  std::optional<storage::Id> session_id;  // unset: a new session titled after the question
  std::string question;                   // the routes bound its length
  RetrievalQuery retrieval;               // sources, k and filters; its text is the question
};

// The business's LLM as the chat uses it.
struct ChatLlm {
  std::vector<llm::ChatProvider*> chain;  // fallback order; empty: no LLM configured
  QueryEmbedder embedder;
  std::shared_ptr<const void> owner;  // keeps the chain and embedder alive for the turn
};

// Why an answer is extractive (llm false).
enum class OfflineReason { kNone, kNoLlm, kBudgetSpent, kLlmFailed, kNoSources };
[[nodiscard]] std::string_view offline_reason_name(OfflineReason r);  // "", "no_llm", "budget_spent", ...

// Why a stored answer is not the LLM's whole answer: the client went away (cancel()), the
// deadline passed, or the provider failed after it had passed on text. kNone: it is whole.
enum class Incomplete { kNone, kClientGone, kTimeout, kLlmFailed };
[[nodiscard]] std::string_view incomplete_name(Incomplete r);  // "", "client_gone", "timeout", "llm_failed"

struct ChatAnswer {
  storage::Id session_id = 0;
  storage::Id question_id = 0;  // the stored question and answer messages
  storage::Id answer_id = 0;
  std::string text;
  std::vector<Citation> citations;  // in order of first use
  std::vector<Retrieved> sources;   // what was retrieved, best first
  std::string model;                // the id of the provider that answered ("ollama:llama3.1"; "" when extractive)
  std::chrono::milliseconds latency{0};
  bool llm = false;
  OfflineReason offline = OfflineReason::kNone;
  Incomplete incomplete = Incomplete::kNone;  // text is what arrived before it stopped
  std::int64_t input_tokens = 0;              // charged to the budget (0 when extractive)
  std::int64_t output_tokens = 0;
};

struct ChatServiceSettings {
  ChatPromptSettings prompt;
  std::size_t extractive_sentences = 3;
  int history_messages = 8;  // previous messages read for the prompt
};

class ChatService {
 public:
  struct Turn;

  // `budget` may be null (no budget).
  ChatService(Retriever& retriever, storage::ChatRepository& chats, const Clock& clock, TokenBudget* budget,
              ChatServiceSettings settings = {});
  ~ChatService();
  ChatService(const ChatService&) = delete;
  ChatService& operator=(const ChatService&) = delete;

  // Step 1. kNotFound for a session that is not the user's; retrieval and storage errors as
  // they come.
  [[nodiscard]] Result<std::shared_ptr<Turn>> begin(const ChatQuestion& q, ChatLlm llm);
  // The session a turn belongs to (known once begin() succeeded).
  [[nodiscard]] static storage::Id session_of(const Turn& turn);
  // Step 2 (see the head comment). `on_token` may be empty (no streaming).
  void answer(const std::shared_ptr<Turn>& turn, std::function<void(std::string_view)> on_token,
              std::function<void(Result<ChatAnswer>)> done, std::chrono::milliseconds timeout);
  // The client went away: no more pieces are passed on, the provider's request is aborted,
  // and the turn is stored with what had arrived (incomplete: client_gone). Any thread.
  static void cancel(Turn& turn);

  // begin() and answer() without streaming, waiting for the answer.
  [[nodiscard]] Result<ChatAnswer> ask(const ChatQuestion& q, ChatLlm llm, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The JSON stored with a turn and returned by the routes: a citation as {n, kind, call_id,
// start_ms, chunk_start_ms, chunk_end_ms, document_id, title, chunk_index}, a source as that
// plus end_ms, speaker, score and (with_text) text; every key is present, null where it does
// not apply to the kind.
[[nodiscard]] std::string sources_json(const std::vector<Retrieved>& sources, bool with_text);
[[nodiscard]] std::string citations_json(const std::vector<Citation>& citations);

}  // namespace earshot::rag

#include "earshot/pipeline/llm_agents.hpp"

#include <fmt/format.h>

#include <condition_variable>

#include "earshot/analytics/conversation.hpp"
#include "earshot/core/log.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/pipeline/provider_checks.hpp"

namespace earshot::pipeline {

using nlohmann::json;

// ---- Redis result cache ------------------------------------------------------------------

RedisResultCache::RedisResultCache(cache::RedisClient& redis, std::chrono::milliseconds ttl, std::string prefix)
    : redis_(redis), ttl_(ttl), prefix_(std::move(prefix)) {}

std::optional<std::string> RedisResultCache::get(const std::string& key) {
  auto r = redis_.command({"GET", prefix_ + key});
  if (!r) {
    log::warn("llm cache read failed", {{"error", r.error().to_string()}});
    return std::nullopt;
  }
  if (r->kind != cache::RedisReply::Kind::kString) return std::nullopt;
  return r->str;
}

void RedisResultCache::put(const std::string& key, const std::string& value) {
  auto r = redis_.command({"SET", prefix_ + key, value, "PX", std::to_string(std::max<std::int64_t>(ttl_.count(), 1))});
  if (!r) log::warn("llm cache write failed", {{"error", r.error().to_string()}});
}

// ---- fleet-wide token bucket -------------------------------------------------------------

namespace {

// A bucket of a tenth of a minute's requests (at least one), refilled over its share of a
// minute: the rate is requests_per_minute with bursts of up to 6 s worth.
std::int64_t bucket_capacity(double requests_per_minute) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(requests_per_minute / 10));
}
std::chrono::milliseconds bucket_period(std::int64_t capacity, double requests_per_minute) {
  return std::chrono::milliseconds(std::max<std::int64_t>(
      1, static_cast<std::int64_t>(60'000.0 * static_cast<double>(capacity) / std::max(requests_per_minute, 1e-3))));
}

}  // namespace

SharedRateLimitedChatProvider::SharedRateLimitedChatProvider(llm::ChatProvider& inner, cache::RateLimiter& limiter,
                                                             std::string key, double requests_per_minute,
                                                             http::HttpClient& timers, const Clock& clock)
    : inner_(&inner),
      limiter_(&limiter),
      key_(std::move(key)),
      capacity_(bucket_capacity(requests_per_minute)),
      period_(bucket_period(capacity_, requests_per_minute)),
      timers_(&timers),
      clock_(&clock) {}

void SharedRateLimitedChatProvider::complete(llm::ChatRequest request, llm::ChatCallback done) {
  attempt(std::make_shared<Pending>(Pending{std::move(request), nullptr, std::move(done)}));
}

void SharedRateLimitedChatProvider::stream(llm::ChatRequest request, llm::TokenCallback on_token,
                                           llm::ChatCallback done) {
  attempt(std::make_shared<Pending>(Pending{std::move(request), std::move(on_token), std::move(done)}));
}

void SharedRateLimitedChatProvider::attempt(const std::shared_ptr<Pending>& req) {
  auto d = limiter_->take(key_, capacity_, period_, clock_->now());
  if (d && !d->allowed && !timers_->shutting_down()) {
    timers_->post_after(std::max(d->retry_after, std::chrono::milliseconds(10)), [this, req] { attempt(req); });
    return;
  }
  if (!d) log::warn("llm rate limiter unavailable, request let through", {{"error", d.error().to_string()}});
  if (req->on_token) {
    inner_->stream(std::move(req->request), std::move(req->on_token), std::move(req->done));
  } else {
    inner_->complete(std::move(req->request), std::move(req->done));
  }
}

// ---- provider errors ---------------------------------------------------------------------

namespace {

// Tells the business's recorder about each failed attempt of its requests: the provider
// below may be shared with other businesses, so the observer travels with the request.
class RecordingChatProvider final : public llm::ChatProvider {
 public:
  RecordingChatProvider(llm::ChatProvider& inner, http::RequestObserver observer)
      : inner_(&inner), observer_(std::move(observer)) {}
  void complete(llm::ChatRequest request, llm::ChatCallback done) override {
    if (!request.on_request) request.on_request = observer_;
    inner_->complete(std::move(request), std::move(done));
  }
  void stream(llm::ChatRequest request, llm::TokenCallback on_token, llm::ChatCallback done) override {
    if (!request.on_request) request.on_request = observer_;
    inner_->stream(std::move(request), std::move(on_token), std::move(done));
  }
  [[nodiscard]] std::string id() const override { return inner_->id(); }

 private:
  llm::ChatProvider* inner_;
  http::RequestObserver observer_;
};

}  // namespace

// ---- settings ----------------------------------------------------------------------------

void LlmSettings::declare(ConfigSpec& spec) {
  spec.add_int("llm_provider_max_in_flight", &provider_max_in_flight, 256, 1, 100'000,
               "LLM requests in flight at once per provider (model and credentials) in this process.");
  spec.add_int("llm_provider_requests_per_second", &provider_requests_per_second, 0, 0, 100'000,
               "LLM requests started per second per provider in this process (0: no limit).");
  spec.add_int("llm_max_tokens", &max_tokens, 1024, 16, 32'768, "Largest answer of one LLM agent, in tokens.");
  spec.add_int("llm_transcript_token_budget", &transcript_token_budget, 6'000, 200, 1'000'000,
               "Estimated tokens of transcript an agent prompt may carry; longer ones keep their start and end.");
  spec.add_duration("llm_cache_ttl", &cache_ttl, std::chrono::hours(24), std::chrono::seconds(1),
                    std::chrono::hours(24 * 365), "How long an agent's output stays in the Redis cache.");
  spec.add_duration("llm_deadline", &defaults.deadline, std::chrono::minutes(3), std::chrono::seconds(1),
                    std::chrono::hours(1), "Deadline of one LLM request, retries included.");
  spec.add_int("embedding_chunk_words", &embedding_chunk_words, 120, 10, 10'000,
               "Words per transcript chunk embedded for chat over calls.");
  spec.add_string("ollama_url", &defaults.ollama_url, "http://127.0.0.1:11434",
                  "Ollama server for llm_chain entries without a base_url.");
  spec.add_string("openai_url", &defaults.openai_url, "https://api.openai.com",
                  "OpenAI-compatible server for llm_chain entries without a base_url.");
  spec.add_string("bedrock_url", &defaults.bedrock_url, "",
                  "Bedrock runtime endpoint (empty: https://bedrock-runtime.{region}.amazonaws.com).");
}

// ---- provider factory --------------------------------------------------------------------

LlmProviderFactory::LlmProviderFactory(http::HttpClient& client, const Clock& clock, LlmSettings settings,
                                       cache::RateLimiter* limiter, cache::ProviderErrorRecorder* errors)
    : client_(client), clock_(clock), settings_(std::move(settings)), limiter_(limiter), errors_(errors) {}

LlmProviderFactory::~LlmProviderFactory() = default;

Result<std::shared_ptr<const BusinessLlm>> LlmProviderFactory::for_business(const std::string& bid,
                                                                            const storage::PipelineConfig& config) {
  std::lock_guard lock(mu_);
  if (auto it = businesses_.find(bid); it != businesses_.end() && it->second.first == config.version) {
    return it->second.second;
  }
  auto chain = llm::parse_llm_chain(config.llm_chain_json);
  if (!chain) return std::unexpected(chain.error());
  auto b = std::make_shared<BusinessLlm>();
  b->bid = bid;
  for (std::size_t i = 0; i < chain->size(); ++i) {
    const auto& spec = (*chain)[i];
    const auto fp = llm::provider_fingerprint(spec, config.secrets);
    auto& shared = shared_[fp];
    if (!shared) {
      auto raw = llm::make_chat_provider(spec, config.secrets, settings_.defaults, client_, clock_);
      if (!raw) return std::unexpected(raw.error().with_context(fmt::format("llm_chain[{}]", i)));
      auto s = std::make_unique<Shared>();
      s->raw = std::move(*raw);
      llm::ProviderLimits pl;
      pl.max_in_flight = static_cast<int>(settings_.provider_max_in_flight);
      pl.requests_per_second = static_cast<double>(settings_.provider_requests_per_second);
      pl.burst = std::max(1.0, pl.requests_per_second);
      s->limited = std::make_unique<llm::LimitedChatProvider>(*s->raw, pl, client_, clock_);
      shared = std::move(s);
    }
    llm::ProviderLimits bl;
    bl.max_in_flight = spec.max_in_flight;
    auto per_business = std::make_unique<llm::LimitedChatProvider>(*shared->limited, bl, client_, clock_);
    llm::ChatProvider* top = per_business.get();
    b->owned.push_back(std::move(per_business));
    if (limiter_ != nullptr && spec.requests_per_minute > 0) {
      auto gate = std::make_unique<SharedRateLimitedChatProvider>(
          *top, *limiter_, fmt::format("llm:{}:{}:{}", bid, spec.provider, spec.model), spec.requests_per_minute,
          client_, clock_);
      top = gate.get();
      b->owned.push_back(std::move(gate));
    }
    if (errors_ != nullptr) {
      auto rec =
          std::make_unique<RecordingChatProvider>(*top, provider_error_observer(errors_, bid, "llm", spec.provider));
      top = rec.get();
      b->owned.push_back(std::move(rec));
    }
    b->chain.push_back(top);
  }
  const auto embedding_kind = config.embedding_provider.substr(0, config.embedding_provider.find(':'));
  auto emb =
      llm::make_embedding_provider(config.embedding_provider, *chain, config.secrets, settings_.defaults, client_,
                                   clock_, provider_error_observer(errors_, bid, "embedding", embedding_kind));
  if (!emb) return std::unexpected(emb.error().with_context("embedding_provider"));
  b->owned_embedder = std::move(*emb);
  b->embedder = b->owned_embedder.get();
  b->embedder_id = b->embedder->id();
  auto& slot = businesses_[bid];
  if (slot.second) retired_.push_back(std::move(slot.second));  // requests may still use it
  slot = {config.version, b};
  return std::shared_ptr<const BusinessLlm>(b);
}

Status check_embedding_provider(std::string_view embedding_provider) {
  auto parsed = llm::parse_embedding_provider(embedding_provider);
  if (!parsed) return std::unexpected(parsed.error());
  return {};
}

// ---- inputs ------------------------------------------------------------------------------

llm::AgentInput agent_input(const std::vector<analytics::TranscriptSegment>& segments, const storage::CallRecord& call,
                            const json& metrics, const std::string& lead_fields_json) {
  llm::AgentInput in;
  for (const auto& s : segments) {
    in.transcript.push_back({std::string(analytics::role_name(s.role)), s.start_ms, s.end_ms, s.text});
  }
  json meta{{"call_id", call.id},
            {"external_id", call.external_id},
            {"direction", call.direction == storage::CallDirection::kInbound    ? "inbound"
                          : call.direction == storage::CallDirection::kOutbound ? "outbound"
                                                                                : "unknown"},
            {"duration_ms", call.duration_ms},
            {"language", call.language},
            {"city", call.city},
            {"issue_category", call.issue_category},
            {"call_context", call.call_context},
            {"customer_name", call.customer_name},
            {"started_at_ms", call.started_at.time_since_epoch().count()}};
  auto extra = json::parse(call.metadata_json.empty() ? "{}" : call.metadata_json, nullptr, false);
  if (extra.is_object() && !extra.empty()) meta["metadata"] = extra;
  in.metadata = meta.dump();
  in.metrics = metrics.dump();
  in.lead = lead_fields_json.empty() ? "{}" : lead_fields_json;
  return in;
}

std::vector<TranscriptChunk> chunk_transcript(const std::vector<analytics::TranscriptSegment>& segments,
                                              std::int64_t words) {
  std::vector<TranscriptChunk> out;
  TranscriptChunk cur;
  std::int64_t n = 0;
  for (const auto& s : segments) {
    std::int64_t w = 0;
    bool in_word = false;
    for (char c : s.text) {
      const bool space = c == ' ' || c == '\t' || c == '\n';
      if (!space && !in_word) ++w;
      in_word = !space;
    }
    if (w == 0) continue;
    if (n > 0 && n + w > words) {
      out.push_back(std::move(cur));
      cur = {};
      n = 0;
    }
    if (n == 0) cur.start_ms = s.start_ms;
    cur.end_ms = std::max(cur.end_ms, s.end_ms);
    if (!cur.text.empty()) cur.text += '\n';
    cur.text += fmt::format("{}: {}", analytics::role_name(s.role), s.text);
    n += w;
  }
  if (n > 0) out.push_back(std::move(cur));
  return out;
}

// ---- running agents ----------------------------------------------------------------------

LlmAgents::LlmAgents(llm::ResultCache* cache, Metrics& metrics, const Clock& clock, const LlmSettings& settings)
    : cache_(cache), clock_(clock), settings_(settings) {
  duration_ = &metrics.histogram("earshot_llm_duration_seconds",
                                 "Time of one LLM agent run (provider calls, retries and repair), by provider.");
  cache_results_ = &metrics.counter("earshot_llm_cache_total", "LLM result cache lookups, by result (hit, miss).");
  failures_ = &metrics.counter("earshot_agent_failures_total", "LLM agent runs that failed, by agent and reason.");
  tokens_ = &metrics.counter("earshot_llm_tokens_total",
                             "LLM tokens the providers reported, by business, provider and kind (input, output).");
}

llm::AgentConfig LlmAgents::to_agent(const storage::AgentConfig& c) const {
  llm::AgentConfig a;
  a.name = c.name;
  a.prompt_version = fmt::format("{}@{}", c.name, c.version);
  a.system = agent_system_prompt();
  a.prompt_template = c.prompt_template;
  a.output_schema = c.output_schema_json;
  a.max_tokens = static_cast<int>(settings_.max_tokens);
  a.transcript_token_budget = static_cast<int>(settings_.transcript_token_budget);
  return a;
}

std::string LlmAgents::failure_reason_label(const llm::AgentResult& r) {
  if (r.ok) return "";
  if (r.failure_reason.starts_with("output failed schema validation")) return "invalid_output";
  if (r.failure_code) return std::string(code_name(*r.failure_code));
  if (r.failure_reason.find("timed out") != std::string::npos) return "timeout";
  return "other";
}

namespace {

struct RunState {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<llm::AgentResult> results;
  std::size_t left = 0;
  std::function<void(std::vector<llm::AgentResult>)> done;
};

}  // namespace

void LlmAgents::run_async(const BusinessLlm& llm, const std::vector<llm::AgentConfig>& agents,
                          const llm::AgentInput& input, std::function<void(std::vector<llm::AgentResult>)> done) {
  auto st = std::make_shared<RunState>();
  st->results.resize(agents.size());
  st->left = agents.size();
  st->done = std::move(done);
  if (agents.empty() || llm.chain.empty()) {
    for (std::size_t i = 0; i < agents.size(); ++i) {
      st->results[i].agent = agents[i].name;
      st->results[i].failure_reason = "no LLM provider is configured (llm_chain is empty)";
    }
    st->done(std::move(st->results));
    return;
  }
  auto runner = std::make_shared<llm::JsonAgentRunner>(llm.chain, cache_, clock_);
  for (std::size_t i = 0; i < agents.size(); ++i) {
    runner->run(agents[i], input, [this, st, runner, i, bid = llm.bid](llm::AgentResult r) {
      cache_results_->Add({{"result", r.cache_hit ? "hit" : "miss"}}).Increment();
      if (!r.cache_hit && r.provider_calls > 0) {
        const std::string provider = r.provider.empty() ? "none" : r.provider;
        duration_->Add({{"provider", provider}}, Metrics::latency_buckets())
            .Observe(std::chrono::duration<double>(r.latency).count());
        const std::string business = bid.empty() ? "unknown" : bid;
        for (const auto& [kind, n] : {std::pair{"input", r.input_tokens}, std::pair{"output", r.output_tokens}}) {
          if (n > 0) {
            tokens_->Add({{"bid", business}, {"provider", provider}, {"kind", kind}}).Increment(static_cast<double>(n));
          }
        }
      }
      if (!r.ok) failures_->Add({{"agent", r.agent}, {"reason", failure_reason_label(r)}}).Increment();
      std::function<void(std::vector<llm::AgentResult>)> finish;
      {
        std::lock_guard lock(st->mu);
        st->results[i] = std::move(r);
        if (--st->left == 0) finish = std::move(st->done);
      }
      if (finish) finish(std::move(st->results));
    });
  }
}

std::vector<llm::AgentResult> LlmAgents::run(const BusinessLlm& llm, const std::vector<llm::AgentConfig>& agents,
                                             const llm::AgentInput& input, std::chrono::milliseconds wait) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<std::vector<llm::AgentResult>> results;
  };
  auto w = std::make_shared<Waiter>();
  run_async(llm, agents, input, [w](std::vector<llm::AgentResult> r) {
    std::lock_guard lock(w->mu);
    w->results = std::move(r);
    w->cv.notify_all();
  });
  std::unique_lock lock(w->mu);
  w->cv.wait_for(lock, wait, [&] { return w->results.has_value(); });
  if (auto& results = w->results; results.has_value()) return std::move(*results);
  std::vector<llm::AgentResult> out(agents.size());
  for (std::size_t i = 0; i < agents.size(); ++i) {
    out[i].agent = agents[i].name;
    out[i].failure_reason = fmt::format("timed out after {} ms waiting for the agents", wait.count());
    failures_->Add({{"agent", agents[i].name}, {"reason", "timeout"}}).Increment();
  }
  return out;
}

void LlmAgents::embed_async(const BusinessLlm& llm, const std::vector<analytics::TranscriptSegment>& redacted,
                            EmbeddingsCallback done) {
  embed_call_chunks_async(llm, chunk_transcript(redacted, settings_.embedding_chunk_words), std::move(done));
}

void embed_call_chunks_async(const BusinessLlm& llm, const std::vector<TranscriptChunk>& chunks,
                             EmbeddingsCallback done) {
  if (llm.embedder == nullptr) {
    done(std::vector<storage::CallEmbedding>{});
    return;
  }
  std::vector<std::string> texts;
  std::string whole;
  for (const auto& c : chunks) whole += (whole.empty() ? "" : "\n") + c.text;
  texts.push_back(whole);
  for (const auto& c : chunks) texts.push_back(c.text);
  const auto count = texts.size();
  llm.embedder->embed(std::move(texts), [chunks, count, model = llm.embedder_id,
                                         done = std::move(done)](Result<std::vector<llm::Embedding>> got) {
    if (!got) {
      done(std::unexpected(got.error()));
      return;
    }
    const auto& vecs = *got;
    if (vecs.size() != count) {
      done(make_error(ErrorCode::kUnavailable, "embedder answered the wrong count"));
      return;
    }
    std::vector<storage::CallEmbedding> out;
    std::int64_t end = 0;
    for (const auto& c : chunks) end = std::max(end, c.end_ms);
    out.push_back({-1, chunks.empty() ? 0 : chunks.front().start_ms, end, "", model, vecs[0]});
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      out.push_back(
          {static_cast<std::int64_t>(i), chunks[i].start_ms, chunks[i].end_ms, chunks[i].text, model, vecs[i + 1]});
    }
    done(std::move(out));
  });
}

Result<std::vector<storage::CallEmbedding>> embed_call_chunks(const BusinessLlm& llm,
                                                              const std::vector<TranscriptChunk>& chunks,
                                                              std::chrono::milliseconds wait) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<std::vector<storage::CallEmbedding>>> got;
  };
  auto w = std::make_shared<Waiter>();
  embed_call_chunks_async(llm, chunks, [w](Result<std::vector<storage::CallEmbedding>> r) {
    std::lock_guard lock(w->mu);
    w->got = std::move(r);
    w->cv.notify_all();
  });
  std::unique_lock lock(w->mu);
  w->cv.wait_for(lock, wait, [&] { return w->got.has_value(); });
  auto got = std::move(w->got);
  if (!got) return make_error(ErrorCode::kTimeout, fmt::format("embeddings took longer than {} ms", wait.count()));
  return std::move(*got);
}

}  // namespace earshot::pipeline

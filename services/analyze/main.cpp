// earshot-analyze: consumes analyze.{bid}; runs the built-in analyzers and the business's
// LLM agents (concurrently, through the async HTTP client: a call waiting on its agents holds
// no thread, so hundreds can wait on a slow LLM at once), embeds the transcript, stores
// analyses, metrics, categories, QA, escalations and the human agent's aggregates, publishes
// call.status live events, and hands the call to notify.{bid}. Beside it, the embed worker
// consumes embed.{bid}: knowledge-base documents chunked and embedded (pipeline/embed_stage.hpp).
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/embed_stage.hpp"
#include "worker_kit.hpp"

namespace {

using namespace earshot;

struct Analyze {
  std::string lexicon_path;
  pipeline::LlmSettings llm;
  // The recordings' store: the redacted copies are written beside them.
  objectstore::ObjectStoreSettings object_store;
  std::int64_t max_audio_bytes = 0;
  std::chrono::milliseconds max_audio_duration{0};
  std::int64_t work_threads = 8;
  std::unique_ptr<objectstore::ObjectStores> store;
  // The operator's own LLM endpoints (ollama_url, openai_url, bedrock_url) are destinations
  // this binary's configuration named: allowed through the egress policy.
  fleet::WorkerKit kit{
      {.stage = queue::Stage::kAnalyze,
       .handler_threads = 2,
       .business_in_flight = 64,
       .max_in_flight = 256,
       .legacy_prefix = "analyze",
       .operator_urls = [this] {
         return std::vector{llm.defaults.ollama_url, llm.defaults.openai_url, llm.defaults.bedrock_url};
       }}};
  std::optional<analytics::SentimentLexicon> lexicon;
  std::optional<cache::RedisRateLimiter> limiter;
  std::optional<pipeline::RedisResultCache> llm_cache;
  std::optional<pipeline::LlmProviderFactory> providers;
  std::optional<pipeline::LlmAgents> agents;
  std::optional<pipeline::AnalyzeStage> stage;
  std::optional<pipeline::EmbedStage> embed;

  void declare(ConfigSpec& spec) {
    spec.add_string("sentiment_lexicon", &lexicon_path, "./.local/assets/vader-1.1.3/vader_lexicon.txt",
                    "VADER lexicon file (scripts/fetch-assets.sh installs it).");
    llm.declare(spec);
    object_store.declare(spec);
    spec.add_int("audio_max_bytes", &max_audio_bytes, 200LL << 20, 1024, 4LL << 30,
                 "Largest recording decoded for its redacted copy.");
    spec.add_duration("audio_max_duration", &max_audio_duration, std::chrono::hours(4), std::chrono::seconds(1),
                      std::chrono::hours(24), "Longest recording decoded for its redacted copy.");
    spec.add_int("analyze_work_threads", &work_threads, 8, 1, 256,
                 "Threads for a call's reads, built-in analyzers, scoring and writes (keep mysql_pool_size at "
                 "least as large); calls waiting on their LLM agents hold none.");
  }

  Status wire(Runtime& rt) {
    auto lex = analytics::SentimentLexicon::load_file(lexicon_path);
    if (!lex) return std::unexpected(lex.error().with_context("EARSHOT_SENTIMENT_LEXICON"));
    lexicon.emplace(std::move(*lex));
    auto& r = kit.repos();
    stage.emplace(pipeline::AnalyzeStageDeps{r.calls, r.transcripts, r.metrics, r.agent_configs, r.categories,
                                             r.scorecards, r.category_matches, r.analyses, r.events, *lexicon,
                                             rt.metrics(), rt.clock(), kit.topology()},
                  pipeline::AnalyzeStageOptions{.work_threads = static_cast<std::size_t>(work_threads)});
    limiter.emplace(kit.redis(), "earshot:rl:llm:");
    llm_cache.emplace(kit.redis(), llm.cache_ttl);
    providers.emplace(kit.tenant_http(), rt.clock(), llm, &*limiter, &kit.provider_errors());
    agents.emplace(&*llm_cache, rt.metrics(), rt.clock(), llm);
    stage->enable_llm({r.pipeline_configs, *providers, *agents, &r.embeddings, &r.crm_leads});
    stage->enable_live_events(kit.live_events());
    auto objects = objectstore::ObjectStores::make(object_store, &kit.operator_http(), rt.clock());
    if (!objects) return std::unexpected(objects.error());
    store = std::move(*objects);
    stage->enable_redacted_audio(*store, audio::DecodeLimits{.max_bytes = static_cast<std::uint64_t>(max_audio_bytes),
                                                             .max_duration = max_audio_duration});
    cache::LiveEvents& live = kit.live_events();
    embed.emplace(pipeline::EmbedStageDeps{
        .knowledge = r.knowledge,
        .embeddings = r.embeddings,
        .configs = r.pipeline_configs,
        .providers = *providers,
        .metrics = rt.metrics(),
        .clock = rt.clock(),
        .topology = kit.topology(),
        .publish_event = [&live](const std::string& bid, std::string_view type, nlohmann::json data) {
          (void)live.publish(bid, type, std::move(data));
        }});
    kit.add_side_worker(rt, queue::Stage::kEmbed, *embed, 2);
    // The stage's work threads stop after the worker (nothing new starts) and before the HTTP
    // client, so no step outlives the client or the repositories.
    rt.add_component(
        std::make_unique<fleet::FunctionComponent>("analyze-stage", nullptr, [this] { stage->shutdown(); }));
    kit.add_worker(rt, static_cast<queue::AsyncStageHandler&>(*stage));
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Analyze analyze;
  return fleet::run_worker(
      argc, argv, analyze.kit,
      {.name = "analyze",
       .summary = "runs analyzers, LLM agents, scorecards and aggregates (analyze.{bid} -> notify.{bid}); "
                  "embeds knowledge-base documents and re-embeds calls when the embedder changes (embed.{bid})",
       .default_admin_port = 18093,
       .declare = [&](ConfigSpec& spec) { analyze.declare(spec); },
       .wire = [&](Runtime& rt) { return analyze.wire(rt); }});
}

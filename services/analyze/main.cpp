// earshot-analyze: consumes analyze.{bid}; runs the built-in analyzers and the business's
// LLM agents (concurrently, through the async HTTP client), embeds the transcript, stores
// analyses, metrics, categories, QA, escalations and the human agent's aggregates, publishes
// call.status live events, and hands the call to notify.{bid}.
#include <memory>

#include "business_directory.hpp"
#include "earshot/analytics/sentiment.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/http/http_client_component.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"
#include "fleet_dependencies.hpp"

namespace {

struct Analyze {
  earshot::fleet::Dependencies deps;
  earshot::queue::TopologySettings topology;
  earshot::http::HttpClientSettings http_settings;
  std::string lexicon_path;
  std::int64_t handler_threads = 4;
  std::int64_t per_business_in_flight = 4;
  earshot::pipeline::LlmSettings llm_settings;

  std::optional<earshot::analytics::SentimentLexicon> lexicon;
  std::unique_ptr<earshot::storage::Database> db;
  std::unique_ptr<earshot::storage::MySqlBusinessRepository> businesses;
  std::unique_ptr<earshot::storage::MySqlCallRepository> calls;
  std::unique_ptr<earshot::storage::MySqlTranscriptRepository> transcripts;
  std::unique_ptr<earshot::storage::MySqlMetricsRepository> metrics;
  std::unique_ptr<earshot::storage::MySqlAgentConfigRepository> agents;
  std::unique_ptr<earshot::storage::MySqlRuleSetRepository> categories;
  std::unique_ptr<earshot::storage::MySqlRuleSetRepository> scorecards;
  std::unique_ptr<earshot::storage::MySqlCategoryMatchRepository> matches;
  std::unique_ptr<earshot::storage::MySqlAnalysisRepository> analyses;
  std::unique_ptr<earshot::storage::MySqlProcessingEventRepository> events;
  std::unique_ptr<earshot::fleet::StorageBusinessDirectory> directory;
  std::unique_ptr<earshot::storage::MySqlPipelineConfigRepository> configs;
  std::unique_ptr<earshot::storage::MySqlEmbeddingRepository> embeddings;
  std::unique_ptr<earshot::storage::MySqlCrmLeadRepository> leads;
  std::unique_ptr<earshot::cache::RedisClient> redis;
  std::unique_ptr<earshot::cache::RedisRateLimiter> limiter;
  std::unique_ptr<earshot::pipeline::RedisResultCache> llm_cache;
  std::unique_ptr<earshot::cache::LiveEvents> live;
  std::unique_ptr<earshot::http::TenantHttpClient> tenant_http;
  std::unique_ptr<earshot::pipeline::LlmProviderFactory> providers;
  std::unique_ptr<earshot::pipeline::LlmAgents> llm_agents;
  std::unique_ptr<earshot::pipeline::AnalyzeStage> stage;
  earshot::queue::NoOutcomeRecorder recorder;

  void declare(earshot::ConfigSpec& spec) {
    deps.declare(spec);
    topology.declare(spec);
    http_settings.declare(spec);
    spec.add_string("sentiment_lexicon", &lexicon_path, "./.local/assets/vader-1.1.3/vader_lexicon.txt",
                    "VADER lexicon file (scripts/fetch-assets.sh installs it).");
    spec.add_int("analyze_handler_threads", &handler_threads, 4, 1, 256, "Calls analyzed at once by this process.");
    spec.add_int("analyze_per_business_in_flight", &per_business_in_flight, 4, 1, 256,
                 "Calls of one business analyzed at once by this process.");
    llm_settings.declare(spec);
  }

  earshot::Status wire(earshot::Runtime& rt) {
    using namespace earshot;
    using storage::MySqlRuleSetRepository;
    if (auto st = deps.wire(rt); !st) return st;
    if (auto st = topology.resolve(); !st) return st;
    auto lex = analytics::SentimentLexicon::load_file(lexicon_path);
    if (!lex) return std::unexpected(lex.error().with_context("EARSHOT_SENTIMENT_LEXICON"));
    lexicon.emplace(std::move(*lex));
    db = std::make_unique<storage::Database>(deps.mysql);
    businesses = std::make_unique<storage::MySqlBusinessRepository>(*db);
    calls = std::make_unique<storage::MySqlCallRepository>(*db);
    transcripts = std::make_unique<storage::MySqlTranscriptRepository>(*db);
    metrics = std::make_unique<storage::MySqlMetricsRepository>(*db);
    agents = std::make_unique<storage::MySqlAgentConfigRepository>(*db);
    categories = std::make_unique<MySqlRuleSetRepository>(*db, MySqlRuleSetRepository::Kind::kCategories);
    scorecards = std::make_unique<MySqlRuleSetRepository>(*db, MySqlRuleSetRepository::Kind::kScorecards);
    matches = std::make_unique<storage::MySqlCategoryMatchRepository>(*db);
    analyses = std::make_unique<storage::MySqlAnalysisRepository>(*db);
    events = std::make_unique<storage::MySqlProcessingEventRepository>(*db);
    directory = std::make_unique<fleet::StorageBusinessDirectory>(*businesses);
    stage = std::make_unique<pipeline::AnalyzeStage>(
        pipeline::AnalyzeStageDeps{*calls, *transcripts, *metrics, *agents, *categories, *scorecards, *matches,
                                   *analyses, *events, *lexicon, rt.metrics(), rt.clock(), topology});
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(*db, *deps.keyring);
    embeddings = std::make_unique<storage::MySqlEmbeddingRepository>(*db);
    leads = std::make_unique<storage::MySqlCrmLeadRepository>(*db);
    auto r = cache::RedisClient::make(deps.redis);
    if (!r) return std::unexpected(r.error().with_context("EARSHOT_REDIS_URL"));
    redis = std::move(*r);
    limiter = std::make_unique<cache::RedisRateLimiter>(*redis, "earshot:rl:llm:");
    llm_cache = std::make_unique<pipeline::RedisResultCache>(*redis, llm_settings.cache_ttl);
    live = std::make_unique<cache::LiveEvents>(*redis, rt.clock(), &rt.metrics());
    // The LLM providers' requests: the ones in flight finish while the worker drains.
    auto& http_client = http::HttpClientComponent::add_to(rt, http_settings);
    // Chat and embedding endpoints come from the business's llm_chain: every request goes out
    // under the egress policy. The operator's own defaults (ollama_url, openai_url,
    // bedrock_url) are destinations this binary's configuration named, so they are allowed.
    auto policy = deps.egress_policy;
    for (const auto& url :
         {llm_settings.defaults.ollama_url, llm_settings.defaults.openai_url, llm_settings.defaults.bedrock_url}) {
      if (!url.empty()) http::allow_operator_url(policy, url);
    }
    tenant_http = std::make_unique<http::TenantHttpClient>(http_client, std::move(policy));
    providers = std::make_unique<pipeline::LlmProviderFactory>(*tenant_http, rt.clock(), llm_settings, limiter.get());
    llm_agents = std::make_unique<pipeline::LlmAgents>(llm_cache.get(), rt.metrics(), rt.clock(), llm_settings);
    stage->enable_llm({*configs, *providers, *llm_agents, embeddings.get(), leads.get()});
    stage->enable_live_events(*live);
    queue::StageWorkerOptions opts;
    opts.stage = queue::Stage::kAnalyze;
    opts.handler_threads = static_cast<std::size_t>(handler_threads);
    opts.per_business_in_flight = static_cast<std::size_t>(per_business_in_flight);
    rt.add_component(std::make_unique<queue::StageWorker>(deps.amqp, topology, opts, *stage, *directory, recorder,
                                                          rt.metrics(), rt.clock()));
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Analyze analyze;
  earshot::ServiceDefinition def;
  def.name = "analyze";
  def.summary = "runs analyzers, LLM agents, scorecards and aggregates (analyze.{bid} -> notify.{bid})";
  def.default_admin_port = 18093;
  def.declare = [&](earshot::ConfigSpec& spec) { analyze.declare(spec); };
  def.wire = [&](earshot::Runtime& runtime) { return analyze.wire(runtime); };
  return earshot::run_service(argc, argv, def);
}

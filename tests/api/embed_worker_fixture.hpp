// The embed worker of earshot-analyze, in-process for the API tests: the real EmbedStage over
// MariaDB with the given provider source, live events published to the business's stream in
// Redis, and the messages the gateway's routes queued on embed.{bid} taken off the real broker.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/cache/live_events.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/pipeline/embed_stage.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "gateway_fixture.hpp"

namespace earshot::testing {

class EmbedWorker {
 public:
  // `providers` must outlive the worker; `calls_per_message`: calls one reembed step takes.
  EmbedWorker(Gateway& gw, pipeline::BusinessLlmSource& providers, std::size_t calls_per_message = 100);
  EmbedWorker(const EmbedWorker&) = delete;
  EmbedWorker& operator=(const EmbedWorker&) = delete;

  // The next message on embed.{bid} (waits up to 10 s; a test failure and an empty message
  // when none comes).
  queue::IncomingMessage take(const std::string& bid);
  [[nodiscard]] bool queue_empty(const std::string& bid);
  queue::HandlerResult handle(const queue::IncomingMessage& m) { return stage_->handle(m); }
  // Handles `m` and every next message it asks for (the steps of a reembed), as the worker's
  // publisher and consumer would; returns the steps handled.
  int run(queue::IncomingMessage m);
  // The business's live events so far whose type starts with `prefix`, oldest first, each as
  // {"type": ..., "data": ...}.
  std::vector<nlohmann::json> events(const std::string& bid, std::string_view prefix);

 private:
  Gateway& gw_;
  storage::MySqlKnowledgeRepository knowledge_;
  storage::MySqlEmbeddingRepository embeddings_;
  storage::MySqlPipelineConfigRepository configs_;
  Metrics metrics_{"embed-worker-test", "0", "0"};
  queue::TopologySettings topology_;
  std::unique_ptr<cache::RedisClient> redis_;
  std::unique_ptr<cache::LiveEvents> live_;
  std::unique_ptr<pipeline::EmbedStage> stage_;
};

}  // namespace earshot::testing

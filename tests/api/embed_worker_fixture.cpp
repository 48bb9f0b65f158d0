#include "embed_worker_fixture.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <variant>

#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {

using json = nlohmann::json;

EmbedWorker::EmbedWorker(Gateway& gw, pipeline::BusinessLlmSource& providers, std::size_t calls_per_message)
    : gw_(gw),
      knowledge_(StorageEnvironment::db()),
      embeddings_(StorageEnvironment::db()),
      configs_(StorageEnvironment::db(), *gw.keys) {
  cache::RedisSettings rs;
  rs.url = endpoints().redis_url;
  redis_ = std::move(*cache::RedisClient::make(rs));
  live_ = std::make_unique<cache::LiveEvents>(*redis_, SystemClock::instance());
  topology_.max_attempts = 3;
  stage_ = std::make_unique<pipeline::EmbedStage>(
      pipeline::EmbedStageDeps{.knowledge = knowledge_,
                               .embeddings = embeddings_,
                               .configs = configs_,
                               .providers = providers,
                               .metrics = metrics_,
                               .clock = SystemClock::instance(),
                               .topology = topology_,
                               .publish_event = [this](const std::string& bid, std::string_view type,
                                                       json data) { (void)live_->publish(bid, type, std::move(data)); },
                               .reembed_calls_per_message = calls_per_message});
}

queue::IncomingMessage EmbedWorker::take(const std::string& bid) {
  std::optional<queue::IncomingMessage> got;
  wait_until(
      [&] {
        auto m = gw_.topology_admin->get(queue::work_queue(queue::Stage::kEmbed, bid));
        if (!m || !*m) return false;
        queue::IncomingMessage in;
        in.body = (*m)->body;
        in.headers = (*m)->headers;
        auto env = queue::decode_envelope((*m)->headers, (*m)->message_id);
        EXPECT_TRUE(env) << env.error().to_string();
        if (env) in.envelope = *env;
        got = std::move(in);
        return true;
      },
      std::chrono::seconds(10));
  if (!got.has_value()) {
    ADD_FAILURE() << "no message on embed." << bid;
    return {};
  }
  return std::move(*got);
}

bool EmbedWorker::queue_empty(const std::string& bid) {
  auto depth = gw_.topology_admin->queue_depth(queue::work_queue(queue::Stage::kEmbed, bid));
  return depth && *depth == 0;
}

int EmbedWorker::run(queue::IncomingMessage m) {
  int steps = 0;
  for (;;) {
    ++steps;
    auto r = stage_->handle(m);
    EXPECT_TRUE(r) << r.error().to_string();
    if (!r) return steps;
    const auto* done = std::get_if<queue::Done>(&*r);
    EXPECT_NE(done, nullptr) << "variant " << r->index();
    if (done == nullptr || done->next.empty()) return steps;
    EXPECT_EQ(done->next.size(), 1U);
    queue::IncomingMessage next;
    next.body = done->next[0].body;
    next.envelope = m.envelope;
    next.envelope.attempt = 1;
    m = std::move(next);
  }
}

std::vector<json> EmbedWorker::events(const std::string& bid, std::string_view prefix) {
  std::vector<json> out;
  auto all = live_->read_after(bid, "", 1000);
  EXPECT_TRUE(all) << all.error().to_string();
  if (!all) return out;
  for (const auto& e : *all) {
    if (!e.type.starts_with(prefix)) continue;
    const auto whole = json::parse(e.json, nullptr, false);
    out.push_back(json{{"type", e.type}, {"data", whole.is_object() ? whole.value("data", json()) : json()}});
  }
  return out;
}

}  // namespace earshot::testing

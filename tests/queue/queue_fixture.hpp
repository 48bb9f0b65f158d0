#pragma once
// Shared set-up for the queue integration tests: the test broker's settings, unique business
// ids per test, and deletion of every queue a test declared.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"

namespace earshot::queue::testing {

// Settings for the test broker; `url` overrides the address (e.g. a proxy in front of it).
[[nodiscard]] AmqpSettings test_amqp_settings(const std::string& url = {});

// A body valid against the stage's v1 schema.
[[nodiscard]] std::string valid_body(Stage stage, const std::string& bid, const std::string& call_id);

class FnHandler final : public StageHandler {
 public:
  using Fn = std::function<HandlerResult(const IncomingMessage&)>;
  explicit FnHandler(Fn fn) : fn_(std::move(fn)) {}
  HandlerResult handle(const IncomingMessage& m) override { return fn_(m); }

 private:
  Fn fn_;
};

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // "t" + a random suffix, so concurrent and repeated runs never share queues.
  std::string new_bid();
  // Declares the business's queues for `stage` with `topo` and deletes them after the test.
  void declare(Stage stage, const std::string& bid);
  OutgoingMessage stage_message(Stage stage, const std::string& bid, const std::string& call_id);
  std::uint32_t depth(const std::string& queue);
  std::unique_ptr<StageWorker> make_worker(StageHandler& handler, BusinessDirectory& directory,
                                           OutcomeRecorder& recorder, StageWorkerOptions options,
                                           const AmqpSettings* amqp_override = nullptr);

  AmqpSettings amqp;
  TopologySettings topo;  // short retry delays: 300 ms, 600 ms; 3 attempts
  std::unique_ptr<TopologyAdmin> admin;
  std::unique_ptr<Metrics> metrics;
  std::set<std::pair<Stage, std::string>> declared;
};

}  // namespace earshot::queue::testing

// The stage-worker's message outcomes against the real broker: done with next-stage
// messages, retry through the tiers, dead-lettering, invalid input.

#include "earshot/queue/worker.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "earshot/queue/publisher.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "support/test_env.hpp"

namespace earshot::queue::testing {
namespace {

using earshot::testing::wait_until;
using std::chrono::milliseconds;
using std::chrono::seconds;
using WorkerTest = QueueTest;

StageWorkerOptions options(Stage stage = Stage::kSync) {
  StageWorkerOptions o;
  o.stage = stage;
  o.handler_threads = 2;
  o.reconcile_interval = seconds(60);
  o.depth_interval = milliseconds(200);
  return o;
}

class Running {
 public:
  explicit Running(std::unique_ptr<StageWorker> w) : w_(std::move(w)) {
    auto st = w_->start();
    EXPECT_TRUE(st) << st.error().to_string();
  }
  ~Running() {
    w_->stop_intake();
    w_->drain(std::chrono::steady_clock::now() + seconds(5));
    w_->stop();
  }
  StageWorker& operator*() { return *w_; }

 private:
  std::unique_ptr<StageWorker> w_;
};

std::optional<RawMessage> take(TopologyAdmin& admin, const std::string& queue) {
  std::optional<RawMessage> out;
  wait_until(
      [&] {
        auto m = admin.get(queue);
        if (m && *m) out = std::move(**m);
        return out.has_value();
      },
      seconds(30), milliseconds(50));
  return out;
}

TEST_F(WorkerTest, RetryGoesThroughATierAndComesBackWithTheNextAttempt) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  std::mutex mu;
  std::vector<std::pair<int, std::chrono::steady_clock::time_point>> seen;
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    {
      std::lock_guard l(mu);
      seen.emplace_back(m.envelope.attempt, std::chrono::steady_clock::now());
    }
    if (m.envelope.attempt == 1) return Retry{.reason = "provider busy", .delay_hint = {}};
    return Done{};
  });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  auto sent = stage_message(Stage::kSync, bid, "c1");
  const std::string id = sent.message_id;
  ASSERT_TRUE(pub.publish(std::move(sent)));

  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 1; }, seconds(30)));
  auto events = rec.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, OutcomeKind::kRetried);
  EXPECT_EQ(events[0].attempt, 1);
  EXPECT_EQ(events[0].reason, "provider busy");
  EXPECT_EQ(events[1].kind, OutcomeKind::kDone);
  EXPECT_EQ(events[1].attempt, 2);
  EXPECT_EQ(events[1].message_id, id);  // the same message, so handlers can deduplicate
  std::lock_guard l(mu);
  ASSERT_EQ(seen.size(), 2u);
  // It waited in the first tier (300 ms) before coming back.
  EXPECT_GE(seen[1].second - seen[0].second, milliseconds(280));
  EXPECT_EQ(depth(dead_letter_queue(Stage::kSync, bid)), 0u);
}

TEST_F(WorkerTest, MaxAttemptsLandsInTheDeadLetterQueueWithItsHeaders) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  std::atomic<int> calls{0};
  FnHandler handler([&](const IncomingMessage&) -> HandlerResult {
    ++calls;
    return std::unexpected(Error(ErrorCode::kUnavailable, "stt provider down"));
  });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  auto sent = stage_message(Stage::kSync, bid, "c1");
  const std::string body = sent.body;
  ASSERT_TRUE(pub.publish(std::move(sent)));

  auto dead = take(*admin, dead_letter_queue(Stage::kSync, bid));
  ASSERT_TRUE(dead);
  EXPECT_EQ(calls.load(), 3);  // topo.max_attempts
  EXPECT_EQ(dead->body, body);
  EXPECT_EQ(header_string(dead->headers, "x-error-code"), "unavailable");
  EXPECT_EQ(header_string(dead->headers, "x-stage"), "sync");
  EXPECT_EQ(header_int(dead->headers, "x-attempts"), 3);
  EXPECT_EQ(header_string(dead->headers, "x-bid"), bid);
  auto reason = header_string(dead->headers, "x-error-reason").value_or("");
  EXPECT_NE(reason.find("gave up after 3 attempts: stt provider down"), std::string::npos) << reason;
  auto at = header_string(dead->headers, "x-failed-at").value_or("");
  EXPECT_EQ(at.size(), 24u) << at;
  EXPECT_EQ(rec.count(OutcomeKind::kRetried), 2u);
  EXPECT_EQ(rec.count(OutcomeKind::kDeadLettered), 1u);
  // Per-stage and per-business counters.
  const std::string text = metrics->serialize();
  EXPECT_NE(text.find(fmt::format("earshot_queue_retried_total{{bid=\"{}\",stage=\"sync\"}} 2", bid)),
            std::string::npos);
  EXPECT_NE(text.find("earshot_queue_dead_lettered_total{bid=\"" + bid + "\",code=\"unavailable\",stage=\"sync\"} 1"),
            std::string::npos);
}

TEST_F(WorkerTest, PermanentFailuresAreDeadLetteredAtOnce) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    if (m.body.find("\"fail\"") != std::string::npos) {
      return Fail{.reason = "recording is silent", .code = ErrorCode::kInvalidArgument};
    }
    return std::unexpected(Error(ErrorCode::kNotFound, "call deleted"));
  });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "fail")));
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "gone")));
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDeadLettered) == 2; }, seconds(5)));
  EXPECT_EQ(rec.count(OutcomeKind::kRetried), 0u);
  std::set<std::string> codes;
  for (int i = 0; i < 2; ++i) {
    auto dead = take(*admin, dead_letter_queue(Stage::kSync, bid));
    ASSERT_TRUE(dead);
    EXPECT_EQ(header_int(dead->headers, "x-attempts"), 1);
    codes.insert(header_string(dead->headers, "x-error-code").value_or(""));
  }
  EXPECT_EQ(codes, (std::set<std::string>{"invalid_argument", "not_found"}));
}

TEST_F(WorkerTest, InvalidMessagesGoStraightToTheDeadLetterQueue) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  std::atomic<int> calls{0};
  FnHandler handler([&](const IncomingMessage&) -> HandlerResult {
    ++calls;
    return Done{};
  });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  auto not_json = stage_message(Stage::kSync, bid, "c1");
  not_json.body = "{\"schema_version\":1, trailing garbage \xff\xfe";
  auto wrong_schema = stage_message(Stage::kSync, bid, "c2");
  wrong_schema.body = R"({"schema_version":1,"bid":"x","call_id":"c2"})";
  auto no_envelope = stage_message(Stage::kSync, bid, "c3");
  no_envelope.headers.clear();
  auto other_bid = stage_message(Stage::kSync, bid, "c4");
  other_bid.headers["x-bid"] = std::string("someone-else");
  ASSERT_TRUE(pub.publish(std::move(not_json)));
  ASSERT_TRUE(pub.publish(std::move(wrong_schema)));
  ASSERT_TRUE(pub.publish(std::move(no_envelope)));
  ASSERT_TRUE(pub.publish(std::move(other_bid)));
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDeadLettered) == 4; }, seconds(5)));
  EXPECT_EQ(calls.load(), 0);
  std::set<std::string> reasons;
  for (int i = 0; i < 4; ++i) {
    auto dead = take(*admin, dead_letter_queue(Stage::kSync, bid));
    ASSERT_TRUE(dead);
    EXPECT_EQ(header_string(dead->headers, "x-error-code"), "invalid_argument");
    reasons.insert(header_string(dead->headers, "x-error-reason").value_or(""));
  }
  EXPECT_TRUE(reasons.contains("body is not valid JSON"));
  EXPECT_TRUE(reasons.contains("invalid envelope: missing x-bid"));
}

// Checks, at the moment each outcome is recorded (after the handler, before the ack), that
// the next-stage message is already in its queue.
class DepthCheckingRecorder final : public OutcomeRecorder {
 public:
  DepthCheckingRecorder(const AmqpSettings& amqp, const TopologySettings& topo, std::string queue)
      : admin_(amqp, topo), queue_(std::move(queue)) {}
  Status record(const OutcomeEvent& e) override {
    std::lock_guard l(mu_);
    if (e.kind == OutcomeKind::kDone) {
      auto n = admin_.queue_depth(queue_);
      depths_.push_back(n ? static_cast<int>(*n) : -1);
    }
    events_.push_back(e);
    return {};
  }
  std::vector<int> depths() {
    std::lock_guard l(mu_);
    return depths_;
  }
  std::vector<OutcomeEvent> events() {
    std::lock_guard l(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  TopologyAdmin admin_;
  std::string queue_;
  std::vector<int> depths_;
  std::vector<OutcomeEvent> events_;
};

TEST_F(WorkerTest, NextStageMessagesAreConfirmedBeforeTheInputIsAcked) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  declare(Stage::kTranscribe, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  DepthCheckingRecorder rec(amqp, topo, work_queue(Stage::kTranscribe, bid));
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    Done done;
    done.next.push_back(stage_message(Stage::kTranscribe, bid, m.envelope.message_id));
    return done;
  });
  auto o = options();
  o.handler_threads = 1;
  Running worker(make_worker(handler, dir, rec, o));
  Publisher pub(amqp, {});
  pub.start();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c" + std::to_string(i))));
  }
  ASSERT_TRUE(wait_until([&] { return rec.depths().size() == 5; }, seconds(5)));
  // When the i-th input is recorded (and then acked), at least i outputs are confirmed.
  const auto depths = rec.depths();
  for (std::size_t i = 0; i < depths.size(); ++i) {
    EXPECT_GE(depths[i], static_cast<int>(i) + 1) << "record " << i;
  }
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 0; }, seconds(2)));
}

TEST_F(WorkerTest, WhenTheNextStagePublishFailsTheInputIsNotCompleted) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  // transcribe.<bid> is not declared: the next-stage publish is returned as unroutable.
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    Done done;
    done.next.push_back(stage_message(Stage::kTranscribe, bid, m.envelope.message_id));
    return done;
  });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  // Every attempt is retried, then the input is dead-lettered; it is never acked as done.
  auto dead = take(*admin, dead_letter_queue(Stage::kSync, bid));
  ASSERT_TRUE(dead);
  EXPECT_EQ(rec.count(OutcomeKind::kDone), 0u);
  EXPECT_EQ(rec.count(OutcomeKind::kRetried), 2u);
  auto reason = header_string(dead->headers, "x-error-reason").value_or("");
  EXPECT_NE(reason.find("publishing next-stage messages"), std::string::npos) << reason;
  EXPECT_EQ(header_string(dead->headers, "x-error-code"), "failed_precondition");
}

TEST_F(WorkerTest, QueueDepthGaugeCoversWorkRetryAndDeadLetterQueues) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([&](const IncomingMessage&) -> HandlerResult {
    return Fail{.reason = "no", .code = ErrorCode::kInvalidArgument};
  });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  const std::string want = fmt::format("earshot_queue_depth{{kind=\"dlq\",queue=\"{}\",stage=\"sync\"}} 1",
                                       dead_letter_queue(Stage::kSync, bid));
  EXPECT_TRUE(wait_until([&] { return metrics->serialize().find(want) != std::string::npos; }, seconds(5)));
  const std::string text = metrics->serialize();
  EXPECT_NE(text.find(fmt::format("earshot_queue_depth{{kind=\"retry\",queue=\"{}\",stage=\"sync\"}}",
                                  retry_queue(Stage::kSync, bid, milliseconds(300)))),
            std::string::npos);
  EXPECT_NE(text.find(fmt::format("earshot_queue_depth{{kind=\"work\",queue=\"sync.{}\",stage=\"sync\"}}", bid)),
            std::string::npos);
  // The publisher stamped the message, so its one delivery (a first attempt) has an age.
  EXPECT_NE(text.find(R"(earshot_queue_message_age_seconds_count{stage="sync"} 1)"), std::string::npos) << text;
}

class FailingRecorder final : public OutcomeRecorder {
 public:
  Status record(const OutcomeEvent&) override {
    ++calls;
    return std::unexpected(Error(ErrorCode::kUnavailable, "database down"));
  }
  std::atomic<int> calls{0};
};

TEST_F(WorkerTest, ARecorderFailureIsCountedAndTheMessageStillAcked) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  FailingRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  ASSERT_TRUE(wait_until([&] { return rec.calls.load() == 1; }, seconds(5)));
  EXPECT_TRUE(wait_until(
      [&] {
        return metrics->serialize().find("earshot_queue_outcome_record_failures_total{stage=\"sync\"} 1") !=
               std::string::npos;
      },
      seconds(2)));
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 0u; }, seconds(2)));
  EXPECT_FALSE(wait_until([&] { return rec.calls.load() > 1; }, milliseconds(500)));
}

TEST_F(WorkerTest, ARetryAfterHintSelectsALongerTier) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> seen;
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    {
      std::lock_guard l(mu);
      seen.push_back(std::chrono::steady_clock::now());
    }
    if (m.envelope.attempt == 1) {
      Error e(ErrorCode::kRateLimited, "provider throttled");
      e.retry_after = milliseconds(500);  // longer than the first tier (300 ms)
      return std::unexpected(e);
    }
    return Done{};
  });
  Running worker(make_worker(handler, dir, rec, options()));
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 1; }, seconds(30)));
  std::lock_guard l(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[1] - seen[0], milliseconds(580));  // went through the 600 ms tier
  EXPECT_EQ(rec.events()[0].error_code, "rate_limited");
}

TEST_F(WorkerTest, AtVolumeEveryInputIsDoneOnceAndForwardedOnce) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  declare(Stage::kTranscribe, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    Done done;
    done.next.push_back(stage_message(Stage::kTranscribe, bid, m.envelope.message_id));
    return done;
  });
  auto o = options();
  o.handler_threads = 8;
  o.per_business_in_flight = 8;
  o.prefetch = 500;
  Running worker(make_worker(handler, dir, rec, o));
  Publisher pub(amqp, {.window = 500});
  pub.start();
  std::set<std::string> sent;
  for (int b = 0; b < 10; ++b) {
    std::vector<OutgoingMessage> batch;
    for (int i = 0; i < 500; ++i) {
      batch.push_back(stage_message(Stage::kSync, bid, fmt::format("c{}-{}", b, i)));
      sent.insert(batch.back().message_id);
    }
    ASSERT_TRUE(pub.publish_batch(std::move(batch)));
  }
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) >= 5000; }, seconds(60)));
  EXPECT_FALSE(wait_until([&] { return rec.events().size() > 5000; }, milliseconds(500)));
  const auto events = rec.events();
  std::map<std::string, int> per_id;
  int not_done = 0;
  for (const auto& e : events) {
    ++per_id[e.message_id];
    if (e.kind != OutcomeKind::kDone) {
      ++not_done;
      ADD_FAILURE() << outcome_name(e.kind) << " " << e.reason;
      if (not_done > 3) break;
    }
  }
  int dups = 0;
  for (const auto& [id, n] : per_id) dups += n > 1 ? 1 : 0;
  EXPECT_EQ(dups, 0);
  EXPECT_EQ(per_id.size(), 5000u);
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 0u; }, seconds(5)));
  EXPECT_EQ(depth(work_queue(Stage::kTranscribe, bid)), 5000u);
}

TEST_F(WorkerTest, AMissingDeadLetterQueueIsRedeclaredWithoutSpinning) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult {
    return Fail{.reason = "bad input", .code = ErrorCode::kInvalidArgument};
  });
  auto o = options();
  o.reconcile_interval = seconds(60);
  Running worker(make_worker(handler, dir, rec, o));
  ASSERT_TRUE(wait_until([&] { return !(*worker).consuming().empty(); }, seconds(5)));
  // Someone deleted the dead-letter queue: the first dead-letter publish is unroutable.
  ASSERT_TRUE(admin->delete_queue(dead_letter_queue(Stage::kSync, bid)));
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  // The worker declares the queue again and the message lands there on a later delivery.
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDeadLettered) == 1; }, seconds(10)));
  auto dead = admin->get(dead_letter_queue(Stage::kSync, bid));
  ASSERT_TRUE(dead && *dead);
  const std::string text = metrics->serialize();
  EXPECT_NE(text.find("earshot_queue_copy_publish_failures_total{kind=\"dead-letter\",stage=\"sync\"}"),
            std::string::npos);
  // Paused between attempts instead of spinning.
  const std::string consumed = fmt::format("earshot_queue_consumed_total{{bid=\"{}\",stage=\"sync\"}} ", bid);
  const auto pos = text.find(consumed);
  ASSERT_NE(pos, std::string::npos);
  EXPECT_LE(std::stoi(text.substr(pos + consumed.size())), 3);
}

}  // namespace
}  // namespace earshot::queue::testing

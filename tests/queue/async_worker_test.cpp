// The stage worker around an AsyncStageHandler, against the real broker: completions in any
// order and from other threads, the in-flight caps, retry and dead-letter outcomes reported
// asynchronously, completions during and after shutdown, hundreds of jobs in flight on
// two handler threads, and redeliveries after a connection cut adopted by the handlings
// still running (asynchronous and synchronous).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "earshot/queue/publisher.hpp"
#include "earshot/queue/worker.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "support/test_env.hpp"
#include "tcp_proxy.hpp"

namespace earshot::queue::testing {
namespace {

using earshot::testing::wait_until;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Holds every started job until the test (or an auto-completer) completes it; counts how
// many are running at once, overall and per business.
class HeldHandler final : public AsyncStageHandler {
 public:
  struct Job {
    std::string bid;
    std::string call_id;
    std::string message_id;
    int attempt = 1;
    StageCompletion done;
  };

  void start(const IncomingMessage& m, StageCompletion done) override {
    auto body = nlohmann::json::parse(m.body);
    {
      std::lock_guard l(mu_);
      held_.push_back(Job{.bid = m.envelope.bid,
                          .call_id = body["call_id"].get<std::string>(),
                          .message_id = m.envelope.message_id,
                          .attempt = m.envelope.attempt,
                          .done = std::move(done)});
      ++started_;
      ++running_;
      max_running_ = std::max(max_running_, running_);
      auto& r = running_per_bid_[m.envelope.bid];
      ++r;
      max_per_bid_[m.envelope.bid] = std::max(max_per_bid_[m.envelope.bid], r);
      threads_.insert(std::this_thread::get_id());
    }
    cv_.notify_all();
  }

  // Removes the oldest held job (or the newest), counted as no longer running.
  std::optional<Job> take(bool newest = false) {
    std::lock_guard l(mu_);
    if (held_.empty()) return std::nullopt;
    Job j;
    if (newest) {
      j = std::move(held_.back());
      held_.pop_back();
    } else {
      j = std::move(held_.front());
      held_.pop_front();
    }
    --running_;
    --running_per_bid_[j.bid];
    return j;
  }

  std::size_t started() const {
    std::lock_guard l(mu_);
    return started_;
  }
  std::size_t held() const {
    std::lock_guard l(mu_);
    return held_.size();
  }
  std::size_t max_running() const {
    std::lock_guard l(mu_);
    return max_running_;
  }
  std::size_t max_running(const std::string& bid) const {
    std::lock_guard l(mu_);
    auto it = max_per_bid_.find(bid);
    return it == max_per_bid_.end() ? 0 : it->second;
  }
  std::size_t starting_threads() const {
    std::lock_guard l(mu_);
    return threads_.size();
  }
  // Waits for a job to be held (or `stop`).
  bool wait_for_job(const std::atomic<bool>& stop) {
    std::unique_lock l(mu_);
    cv_.wait_for(l, milliseconds(50), [&] { return !held_.empty() || stop.load(); });
    return !held_.empty();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> held_;
  std::size_t started_ = 0;
  std::size_t running_ = 0;
  std::size_t max_running_ = 0;
  std::map<std::string, std::size_t> running_per_bid_;
  std::map<std::string, std::size_t> max_per_bid_;
  std::set<std::thread::id> threads_;
};

// Completes held jobs from its own thread with `policy(job)`.
class AutoCompleter {
 public:
  AutoCompleter(HeldHandler& h, std::function<HandlerResult(const HeldHandler::Job&)> policy)
      : thread_([this, &h, policy = std::move(policy)] {
          while (!stop_) {
            if (!h.wait_for_job(stop_)) continue;
            while (auto j = h.take()) j->done(policy(*j));
          }
        }) {}
  ~AutoCompleter() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

StageWorkerOptions async_options(std::size_t max_in_flight, std::size_t per_business) {
  StageWorkerOptions o;
  o.stage = Stage::kSync;
  o.handler_threads = 2;
  o.max_in_flight = max_in_flight;
  o.per_business_in_flight = per_business;
  o.prefetch = 4;  // raised by the worker to the per-business share
  o.reconcile_interval = seconds(60);
  o.depth_interval = milliseconds(200);
  return o;
}

std::set<std::string> ids_of(const std::vector<OutcomeEvent>& events, OutcomeKind kind) {
  std::set<std::string> out;
  for (const auto& e : events) {
    if (e.kind == kind) out.insert(e.message_id);
  }
  return out;
}

std::optional<RawMessage> take_message(TopologyAdmin& admin, const std::string& queue) {
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

struct Sender {
  explicit Sender(const AmqpSettings& amqp) : pub(amqp, {.window = 500}) { pub.start(); }
  Publisher pub;
};

class AsyncWorkerTest : public QueueTest {
 protected:
  // Publishes three messages of `bid` (calls `prefix`0..2) and returns their ids.
  std::set<std::string> send_three(Sender& s, const std::string& bid, const std::string& prefix);
};

std::set<std::string> AsyncWorkerTest::send_three(Sender& s, const std::string& bid, const std::string& prefix) {
  std::set<std::string> ids;
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 3; ++i) {
    batch.push_back(stage_message(Stage::kSync, bid, fmt::format("{}{}", prefix, i)));
    ids.insert(batch.back().message_id);
  }
  EXPECT_TRUE(s.pub.publish_batch(std::move(batch)));
  return ids;
}

bool adopted(Metrics& metrics, const std::string& bid, int n) {
  return metrics.serialize().find(fmt::format(
             "earshot_queue_redeliveries_adopted_total{{bid=\"{}\",stage=\"sync\"}} {}", bid, n)) != std::string::npos;
}

TEST_F(AsyncWorkerTest, CompletionsInReverseOrderFinishEachMessageWithItsOwnOutputs) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  declare(Stage::kTranscribe, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  HeldHandler handler;
  StageWorker worker(amqp, topo, async_options(16, 16), handler, dir, rec, *metrics, SystemClock::instance());
  ASSERT_TRUE(worker.start());
  Sender s(amqp);
  std::set<std::string> sent;
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 6; ++i) {
    batch.push_back(stage_message(Stage::kSync, bid, fmt::format("c{}", i)));
    sent.insert(batch.back().message_id);
  }
  ASSERT_TRUE(s.pub.publish_batch(std::move(batch)));
  ASSERT_TRUE(wait_until([&] { return handler.held() == 6; }, seconds(20)));
  EXPECT_EQ(rec.events().size(), 0u);  // nothing finishes before its completion

  // Newest first, from another thread; each forwards one transcribe message naming its call.
  std::thread completer([&] {
    while (auto j = handler.take(/*newest=*/true)) {
      auto next = stage_message(Stage::kTranscribe, bid, j->call_id);
      j->done(Outcome{Done{{std::move(next)}}});
      j->done(Outcome{Fail{"a second completion", ErrorCode::kInternal}});  // ignored
    }
  });
  completer.join();
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 6; }, seconds(20)));
  EXPECT_EQ(ids_of(rec.events(), OutcomeKind::kDone), sent);
  EXPECT_EQ(rec.events().size(), 6u);  // the second completions changed nothing
  std::set<std::string> forwarded;
  for (int i = 0; i < 6; ++i) {
    auto m = take_message(*admin, work_queue(Stage::kTranscribe, bid));
    ASSERT_TRUE(m);
    forwarded.insert(nlohmann::json::parse(m->body)["call_id"].get<std::string>());
  }
  EXPECT_EQ(forwarded, (std::set<std::string>{"c0", "c1", "c2", "c3", "c4", "c5"}));
  worker.stop_intake();
  worker.drain(std::chrono::steady_clock::now() + seconds(5));
  worker.stop();
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);  // acked, nothing came back
  EXPECT_EQ(depth(dead_letter_queue(Stage::kSync, bid)), 0u);
}

TEST_F(AsyncWorkerTest, InFlightCapAndPerBusinessShareAreNeverExceeded) {
  const std::string a = new_bid();
  const std::string b = new_bid();
  declare(Stage::kSync, a);
  declare(Stage::kSync, b);
  InMemoryBusinessDirectory dir;
  dir.enable(a);
  dir.enable(b);
  InMemoryOutcomeRecorder rec;
  HeldHandler handler;
  // 5 in flight at most, 3 of one business at most; every message is prefetched.
  auto o = async_options(5, 3);
  o.prefetch = 10;
  StageWorker worker(amqp, topo, o, handler, dir, rec, *metrics, SystemClock::instance());
  ASSERT_TRUE(worker.start());
  Sender s(amqp);
  auto consumed = [&](const std::string& bid, int n) {
    return wait_until(
        [&] {
          return metrics->serialize().find(fmt::format("earshot_queue_consumed_total{{bid=\"{}\",stage=\"sync\"}} {}",
                                                       bid, n)) != std::string::npos;
        },
        seconds(20));
  };
  auto publish = [&](const std::string& bid) {
    std::vector<OutgoingMessage> batch;
    for (int i = 0; i < 10; ++i) {
      batch.push_back(stage_message(Stage::kSync, bid, fmt::format("{}-{}", bid, i)));
    }
    return s.pub.publish_batch(std::move(batch));
  };
  // One business alone: all ten are in the worker, three run (its share).
  ASSERT_TRUE(publish(a));
  ASSERT_TRUE(consumed(a, 10));
  ASSERT_TRUE(wait_until([&] { return handler.held() == 3; }, seconds(20)));
  EXPECT_EQ(handler.started(), 3u);
  // A second business: two more run, then the overall cap of five holds.
  ASSERT_TRUE(publish(b));
  ASSERT_TRUE(consumed(b, 10));
  ASSERT_TRUE(wait_until([&] { return handler.held() == 5; }, seconds(20)));
  EXPECT_EQ(handler.started(), 5u);
  {
    AutoCompleter done(handler, [](const HeldHandler::Job&) -> HandlerResult { return Done{}; });
    ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 20; }, seconds(30)));
  }
  EXPECT_EQ(handler.max_running(), 5u);
  EXPECT_EQ(handler.max_running(a), 3u);
  EXPECT_LE(handler.max_running(b), 3u);
  EXPECT_EQ(handler.started(), 20u);
  worker.stop();
  EXPECT_EQ(depth(work_queue(Stage::kSync, a)), 0u);
  EXPECT_EQ(depth(work_queue(Stage::kSync, b)), 0u);
}

TEST_F(AsyncWorkerTest, RetryAndDeadLetterOutcomesArriveThroughTheCompletion) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  HeldHandler handler;
  StageWorker worker(amqp, topo, async_options(16, 16), handler, dir, rec, *metrics, SystemClock::instance());
  AutoCompleter completer(handler, [](const HeldHandler::Job& j) -> HandlerResult {
    if (j.call_id == "retry-once") {
      if (j.attempt == 1) return Retry{.reason = "provider busy", .delay_hint = {}};
      return Done{};
    }
    if (j.call_id == "bad-audio") return Fail{"not a recognised audio file", ErrorCode::kInvalidArgument};
    return std::unexpected(Error(ErrorCode::kUnavailable, "stt provider down"));  // "down"
  });
  ASSERT_TRUE(worker.start());
  Sender s(amqp);
  auto retry_once = stage_message(Stage::kSync, bid, "retry-once");
  const std::string retry_id = retry_once.message_id;
  ASSERT_TRUE(s.pub.publish(std::move(retry_once)));
  ASSERT_TRUE(s.pub.publish(stage_message(Stage::kSync, bid, "bad-audio")));
  ASSERT_TRUE(s.pub.publish(stage_message(Stage::kSync, bid, "down")));

  std::map<std::string, RawMessage> dead;
  for (int i = 0; i < 2; ++i) {
    auto m = take_message(*admin, dead_letter_queue(Stage::kSync, bid));
    ASSERT_TRUE(m);
    const auto call = nlohmann::json::parse(m->body)["call_id"].get<std::string>();
    dead[call] = std::move(*m);
  }
  ASSERT_TRUE(dead.contains("bad-audio"));
  ASSERT_TRUE(dead.contains("down"));
  EXPECT_EQ(header_string(dead["bad-audio"].headers, "x-error-code"), "invalid_argument");
  EXPECT_EQ(header_string(dead["bad-audio"].headers, "x-error-reason"), "not a recognised audio file");
  EXPECT_EQ(header_int(dead["bad-audio"].headers, "x-attempts"), 1);
  EXPECT_EQ(header_string(dead["down"].headers, "x-error-code"), "unavailable");
  EXPECT_EQ(header_int(dead["down"].headers, "x-attempts"), 3);  // topo.max_attempts
  EXPECT_NE(header_string(dead["down"].headers, "x-error-reason")
                .value_or("")
                .find("gave up after 3 attempts: stt provider down"),
            std::string::npos);
  // A message reaches its dead-letter queue before the worker records its outcome and
  // acknowledges it: wait for all six outcomes, not just the first one.
  ASSERT_TRUE(wait_until(
      [&] {
        return rec.count(OutcomeKind::kDone) == 1 && rec.count(OutcomeKind::kRetried) == 3 &&
               rec.count(OutcomeKind::kDeadLettered) == 2;
      },
      seconds(20)));
  auto events = rec.events();
  std::vector<int> attempts_of_retry_once;
  for (const auto& e : events) {
    if (e.message_id == retry_id) attempts_of_retry_once.push_back(e.attempt);
  }
  EXPECT_EQ(attempts_of_retry_once, (std::vector<int>{1, 2}));
  EXPECT_EQ(rec.count(OutcomeKind::kRetried), 3u);       // retry-once once, down twice
  EXPECT_EQ(rec.count(OutcomeKind::kDeadLettered), 2u);  // bad-audio, down
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 0u; }, seconds(20)));
  worker.stop();
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);
}

TEST_F(AsyncWorkerTest, DrainWaitsForCompletionsThatArriveAfterTheShutdownRequest) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  HeldHandler handler;
  StageWorker worker(amqp, topo, async_options(16, 16), handler, dir, rec, *metrics, SystemClock::instance());
  ASSERT_TRUE(worker.start());
  Sender s(amqp);
  ASSERT_TRUE(s.pub.publish_batch({stage_message(Stage::kSync, bid, "c1"), stage_message(Stage::kSync, bid, "c2")}));
  ASSERT_TRUE(wait_until([&] { return handler.held() == 2; }, seconds(20)));

  worker.stop_intake();
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    worker.drain(deadline);
    drained = true;
  });
  // Intake is stopped, the jobs run on: drain waits for both.
  auto first = handler.take();
  ASSERT_TRUE(first);
  first->done(Outcome{Done{}});
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 1; }, seconds(10)));
  EXPECT_FALSE(drained.load());
  auto second = handler.take();
  ASSERT_TRUE(second);
  second->done(Outcome{Done{}});
  drainer.join();
  EXPECT_LT(std::chrono::steady_clock::now(), deadline);  // returned because both finished
  EXPECT_EQ(rec.count(OutcomeKind::kDone), 2u);
  worker.stop();
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);  // both acked before the close
}

TEST_F(AsyncWorkerTest, AJobPastTheDrainDeadlineIsRedeliveredAndItsLateCompletionDropped) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  HeldHandler handler;
  auto worker = std::make_unique<StageWorker>(amqp, topo, async_options(16, 16), handler, dir, rec, *metrics,
                                              SystemClock::instance());
  ASSERT_TRUE(worker->start());
  Sender s(amqp);
  ASSERT_TRUE(
      s.pub.publish_batch({stage_message(Stage::kSync, bid, "slow1"), stage_message(Stage::kSync, bid, "slow2")}));
  ASSERT_TRUE(wait_until([&] { return handler.held() == 2; }, seconds(20)));
  worker->stop_intake();
  const auto t0 = std::chrono::steady_clock::now();
  worker->drain(t0 + milliseconds(300));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(290));
  worker->stop();
  // One completes after stop(), the other after the worker is gone: both dropped safely.
  auto late = handler.take();
  ASSERT_TRUE(late);
  late->done(Outcome{Done{}});
  worker.reset();
  auto later = handler.take();
  ASSERT_TRUE(later);
  later->done(Outcome{Done{}});
  EXPECT_EQ(rec.events().size(), 0u);
  // The broker got both back when the connection closed.
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 2; }, seconds(10)));
}

TEST_F(AsyncWorkerTest, ThreeHundredJobsInFlightOnTwoHandlerThreads) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  HeldHandler handler;
  StageWorker worker(amqp, topo, async_options(300, 300), handler, dir, rec, *metrics, SystemClock::instance());
  ASSERT_TRUE(worker.start());
  Sender s(amqp);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 300; ++i) batch.push_back(stage_message(Stage::kSync, bid, fmt::format("c{}", i)));
  ASSERT_TRUE(s.pub.publish_batch(std::move(batch)));
  // Every job is in flight at once, none completed, with two handler threads.
  ASSERT_TRUE(wait_until([&] { return handler.held() == 300; }, seconds(30))) << handler.held() << " held";
  EXPECT_LE(handler.starting_threads(), 2u);
  {
    AutoCompleter done(handler, [](const HeldHandler::Job&) -> HandlerResult { return Done{}; });
    ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 300; }, seconds(30)));
  }
  EXPECT_EQ(handler.max_running(), 300u);
  worker.stop();
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);
}

// The worker reaches the broker through a proxy whose cut() drops every connection at once,
// as a broker restart or a network failure does.
class ProxiedBroker {
 public:
  explicit ProxiedBroker(const AmqpSettings& direct) {
    auto ep = parse_amqp_url(direct.url);
    EXPECT_TRUE(ep);
    proxy_ = std::make_unique<TcpProxy>(ep->host, ep->port);
    settings_ = test_amqp_settings(fmt::format("amqp://guest:guest@127.0.0.1:{}/%2f", proxy_->port()));
  }
  const AmqpSettings& settings() const { return settings_; }
  void cut() { proxy_->cut(); }

 private:
  std::unique_ptr<TcpProxy> proxy_;
  AmqpSettings settings_;
};

// Three jobs run when the connection is cut: the broker redelivers their messages on the
// new connection, and each redelivery is adopted by its running job instead of starting a
// second one. Each job's completion then acks the newest delivery, on the live channel: the
// prefetch window (3) takes new messages again, and nothing is left unacked.
TEST_F(AsyncWorkerTest, RedeliveriesOfRunningJobsAfterAConnectionCutAreAdoptedAndAckedByThem) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  ProxiedBroker broker(amqp);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  HeldHandler handler;
  auto o = async_options(3, 3);
  o.prefetch = 3;
  StageWorker worker(broker.settings(), topo, o, handler, dir, rec, *metrics, SystemClock::instance());
  ASSERT_TRUE(worker.start());
  Sender s(amqp);  // straight to the broker: the test's own publishes never see the cut
  auto send = [&](const std::string& prefix) { return send_three(s, bid, prefix); };
  auto sent = send("c");
  ASSERT_TRUE(wait_until([&] { return handler.held() == 3; }, seconds(20)));

  broker.cut();
  ASSERT_TRUE(wait_until([&] { return adopted(*metrics, bid, 3); }, seconds(20))) << handler.started() << " starts";
  EXPECT_EQ(handler.started(), 3u);  // no second start
  while (auto j = handler.take()) j->done(Outcome{Done{}});
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 3; }, seconds(20)));

  // The window of the new channel was full of the three redeliveries: new messages come
  // through only because their acks went out on it.
  auto more = send("d");
  sent.insert(more.begin(), more.end());
  ASSERT_TRUE(wait_until([&] { return handler.held() == 3; }, seconds(20))) << handler.held() << " held";
  while (auto j = handler.take()) j->done(Outcome{Done{}});
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 6; }, seconds(20)));
  EXPECT_EQ(handler.started(), 6u);  // one start per message
  EXPECT_EQ(ids_of(rec.events(), OutcomeKind::kDone), sent);
  EXPECT_EQ(rec.events().size(), 6u);
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);
  EXPECT_TRUE(adopted(*metrics, bid, 3));
  worker.stop();
  // Closing the connection would have requeued anything still unacked.
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);
  EXPECT_EQ(depth(dead_letter_queue(Stage::kSync, bid)), 0u);
}

// The same for a synchronous handler: three handler threads are blocked in their handlings
// when the connection is cut, so the redeliveries are adopted without waiting for a thread.
TEST_F(AsyncWorkerTest, RedeliveriesOfRunningSynchronousHandlingsAfterAConnectionCutAreAdopted) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  ProxiedBroker broker(amqp);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::map<std::string, int> starts;  // by message id
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    std::unique_lock l(mu);
    ++starts[m.envelope.message_id];
    cv.wait_for(l, seconds(60), [&] { return open; });
    return Done{};
  });
  auto started = [&] {
    std::lock_guard l(mu);
    std::size_t n = 0;
    for (const auto& [id, count] : starts) n += static_cast<std::size_t>(count);
    return n;
  };
  StageWorkerOptions o;
  o.handler_threads = 3;
  o.per_business_in_flight = 3;
  o.prefetch = 3;
  o.reconcile_interval = seconds(60);
  auto worker = make_worker(handler, dir, rec, o, &broker.settings());
  ASSERT_TRUE(worker->start());
  Sender s(amqp);
  auto send = [&](const std::string& prefix) { return send_three(s, bid, prefix); };
  auto sent = send("c");
  ASSERT_TRUE(wait_until([&] { return started() == 3; }, seconds(20)));

  broker.cut();
  ASSERT_TRUE(wait_until([&] { return adopted(*metrics, bid, 3); }, seconds(20))) << started() << " starts";
  EXPECT_EQ(started(), 3u);
  {
    std::lock_guard l(mu);
    open = true;
  }
  cv.notify_all();
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 3; }, seconds(20)));

  auto more = send("d");
  sent.insert(more.begin(), more.end());
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 6; }, seconds(20)))
      << rec.count(OutcomeKind::kDone) << " done";
  {
    std::lock_guard l(mu);
    EXPECT_EQ(starts.size(), 6u);
    for (const auto& [id, count] : starts) EXPECT_EQ(count, 1) << id;  // one start per message
  }
  EXPECT_EQ(ids_of(rec.events(), OutcomeKind::kDone), sent);
  EXPECT_EQ(rec.events().size(), 6u);
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);
  worker->stop();
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 0u);
  EXPECT_EQ(depth(dead_letter_queue(Stage::kSync, bid)), 0u);
}

}  // namespace
}  // namespace earshot::queue::testing

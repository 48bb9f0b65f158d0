// The notify stage and the dispatcher against the in-memory storage fakes and a scripted HTTP
// client: what is enqueued for a call, and the retry / pause decisions of the dispatcher.
// Hermetic: no database, no broker, no network; time comes from a FakeClock.
#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "earshot/notify/dispatcher.hpp"
#include "earshot/notify/notify_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/analyses_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/category_matches_fake.hpp"
#include "fakes/storage/crm_leads_fake.hpp"
#include "fakes/storage/deliveries_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "test_env.hpp"

namespace earshot::notify {
namespace {

using namespace std::chrono_literals;
using earshot::testing::wait_until;
using nlohmann::json;
using storage::CallStatus;
using storage::DeliveryChannel;
using storage::DeliveryStatus;
using storage::TenantId;

// ---- local stand-ins for the repositories this test does not exercise ----

class NoAgentConfigs final : public storage::AgentConfigRepository {
 public:
  Result<storage::Id> create(const TenantId&, const storage::AgentConfig&) override { return 1; }
  Result<storage::AgentConfig> get(const TenantId&, storage::Id) override {
    return make_error(ErrorCode::kNotFound, "none");
  }
  Result<std::vector<storage::AgentConfig>> list(const TenantId&, bool) override {
    return std::vector<storage::AgentConfig>{};
  }
  Result<bool> update(const TenantId&, const storage::AgentConfig&) override { return false; }
  Result<bool> remove(const TenantId&, storage::Id) override { return false; }
};

class NoRuleSets final : public storage::RuleSetRepository {
 public:
  Result<storage::Id> create(const TenantId&, const storage::RuleSet&) override { return 1; }
  Result<storage::RuleSet> get(const TenantId&, storage::Id) override {
    return make_error(ErrorCode::kNotFound, "none");
  }
  Result<std::vector<storage::RuleSet>> list(const TenantId&) override { return std::vector<storage::RuleSet>{}; }
  Result<bool> update(const TenantId&, const storage::RuleSet&) override { return false; }
  Result<bool> remove(const TenantId&, storage::Id) override { return false; }
};

class NoHumanAgents final : public storage::HumanAgentRepository {
 public:
  Result<storage::Id> upsert(const TenantId&, const storage::HumanAgentInput&) override { return 1; }
  Result<storage::HumanAgent> get(const TenantId&, storage::Id) override {
    return make_error(ErrorCode::kNotFound, "none");
  }
  Result<storage::HumanAgent> find_by_external_id(const TenantId&, std::string_view) override {
    return make_error(ErrorCode::kNotFound, "none");
  }
  Result<std::vector<storage::HumanAgent>> list(const TenantId&) override { return std::vector<storage::HumanAgent>{}; }
};

class NoPipelineConfigs final : public storage::PipelineConfigRepository {
 public:
  Status put(const TenantId&, const storage::PipelineConfig&) override { return {}; }
  Result<storage::PipelineConfig> get(const TenantId&) override { return make_error(ErrorCode::kNotFound, "none"); }
  Result<std::int64_t> reseal_all() override { return 0; }
};

// Answers every request with the next scripted status (the last one repeats), at once.
class ScriptedHttp final : public http::HttpClient {
 public:
  explicit ScriptedHttp(std::vector<int> statuses) : statuses_(std::move(statuses)) {}
  void send(http::HttpRequest request, http::ResponseCallback done) override {
    http::HttpResponse r;
    {
      std::lock_guard lock(mu_);
      r.status = statuses_[std::min(requests_.size(), statuses_.size() - 1)];
      requests_.push_back(std::move(request));
    }
    done(std::move(r));
  }
  void post_after(std::chrono::milliseconds, std::function<void()> fn) override { fn(); }
  [[nodiscard]] bool shutting_down() const override { return false; }
  [[nodiscard]] std::vector<http::HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<int> statuses_;
  std::vector<http::HttpRequest> requests_;
};

struct LiveEvents {
  std::mutex mu;
  std::vector<std::pair<std::string, json>> events;  // (type, data)
  EventPublisher publisher() {
    return [this](const std::string&, std::string_view type, json data) {
      std::lock_guard lock(mu);
      events.emplace_back(std::string(type), std::move(data));
    };
  }
  std::vector<json> of(std::string_view type) {
    std::lock_guard lock(mu);
    std::vector<json> out;
    for (const auto& [t, d] : events) {
      if (t == type) out.push_back(d);
    }
    return out;
  }
};

class NotifyWithFakes : public ::testing::Test {
 protected:
  TenantId t = *TenantId::make("acme");
  earshot::testing::FakeClock clock;
  earshot::testing::FakeCallRepository calls{&clock};
  earshot::testing::FakeEscalationRepository escalations{calls, &clock};
  earshot::testing::FakeAnalysisRepository analyses{calls, escalations};
  earshot::testing::FakeCategoryMatchRepository matches{calls};
  earshot::testing::FakeCrmLeadRepository leads;
  earshot::testing::FakeProcessingEventRepository events{calls};
  earshot::testing::FakeDeliveryRepository deliveries;
  NoAgentConfigs agent_configs;
  NoRuleSets categories;
  NoHumanAgents agents;
  NoPipelineConfigs configs;
  Metrics metrics{"notify-fakes-test", "0", "test"};
  LiveEvents live;
  NotifySettings settings = [] {
    NotifySettings s;
    s.public_url = "https://earshot.test";
    return s;
  }();
  int wakes = 0;
  NotifyStage stage{
      settings, NotifyStageDeps{deliveries, calls, analyses, agent_configs, matches, categories, agents, leads, configs,
                                events, escalations, metrics, clock, [this] { ++wakes; }, live.publisher()}};

  // A call walked to `to` along the pipeline (failed: from pending).
  storage::Id call_in(CallStatus to, const std::string& external_id = "c-1") {
    storage::CallInput in;
    in.external_id = external_id;
    in.customer_phone = "+14155550100";
    in.customer_name = "Ada";
    auto id = calls.upsert(t, in)->id;
    if (to == CallStatus::kFailed) {
      EXPECT_TRUE(*calls.mark_failed(t, id, "transcribe", "no audio"));
      return id;
    }
    for (auto [from, next] : {std::pair{CallStatus::kPending, CallStatus::kTranscribing},
                              std::pair{CallStatus::kTranscribing, CallStatus::kTranscribed},
                              std::pair{CallStatus::kTranscribed, CallStatus::kAnalyzing},
                              std::pair{CallStatus::kAnalyzing, CallStatus::kAnalyzed}}) {
      if (from == to) break;
      EXPECT_TRUE(*calls.advance(t, id, from, next));
    }
    return id;
  }

  queue::HandlerResult handle(storage::Id call_id, queue::NotifyEvent event = queue::NotifyEvent::kCallAnalyzed) {
    queue::IncomingMessage m;
    m.envelope.bid = t.bid();
    m.envelope.stage = queue::Stage::kNotify;
    queue::NotifyRequest r;
    r.bid = t.bid();
    r.call_id = std::to_string(call_id);
    r.event = event;
    m.body = r.to_json();
    return stage.handle(m);
  }

  storage::Id subscribe(std::vector<std::string> events_wanted, bool enabled = true) {
    auto id = *deliveries.create_subscription(t, "https://hooks.acme.test/x", "", events_wanted, "whsec_test");
    if (!enabled) {
      storage::WebhookSubscriptionPatch p;
      p.enabled = false;
      EXPECT_TRUE(*deliveries.update_subscription(t, id, p));
    }
    return id;
  }

  std::vector<storage::Delivery> rows(DeliveryChannel c, storage::Id sub = 0) {
    std::vector<storage::Delivery> out;
    for (auto& d : deliveries.deliveries()) {
      if (d.channel == c && (c != DeliveryChannel::kWebhook || d.subscription_id == sub)) out.push_back(d);
    }
    return out;
  }
};

TEST_F(NotifyWithFakes, AnalyzedCallEnqueuesPerSubscriptionAndAlertsOnce) {
  const auto id = call_in(CallStatus::kAnalyzed);
  ASSERT_TRUE(escalations.create(t, id, "customer threatens to cancel", storage::EscalationSeverity::kHigh));
  const auto wants_all = subscribe({"call.analyzed", "escalation.created"});
  const auto wants_failed = subscribe({"call.failed"});
  const auto disabled = subscribe({"*"}, false);
  BusinessNotifySettings ns;
  ns.alert_emails = {"qa@acme.test"};
  ns.chat_webhook_url = "https://chat.acme.test/hook";
  ns.min_severity = "high";
  ns.crm_writeback = false;
  ASSERT_TRUE(deliveries.put_settings_json(t, ns.to_json().dump()));

  auto r = handle(id);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(std::holds_alternative<queue::Done>(*r));

  auto hooks = rows(DeliveryChannel::kWebhook, wants_all);
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[0].event_type, "call.analyzed");
  EXPECT_EQ(hooks[1].event_type, "escalation.created");
  const auto event = json::parse(hooks[0].payload_json);
  EXPECT_EQ(event["data"]["link"], "https://earshot.test/calls/" + std::to_string(id));
  EXPECT_EQ(event["data"]["escalation"]["severity"], "high");
  EXPECT_TRUE(rows(DeliveryChannel::kWebhook, wants_failed).empty()) << "not subscribed to call.analyzed";
  EXPECT_TRUE(rows(DeliveryChannel::kWebhook, disabled).empty()) << "disabled subscriptions get nothing";
  auto mail = rows(DeliveryChannel::kEmail);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(json::parse(mail[0].payload_json)["to"], json::array({"qa@acme.test"}));
  ASSERT_EQ(rows(DeliveryChannel::kChat).size(), 1u);
  EXPECT_EQ(json::parse(rows(DeliveryChannel::kChat)[0].payload_json)["url"], "https://chat.acme.test/hook");

  EXPECT_EQ(calls.get(t, id)->status, CallStatus::kNotified);
  EXPECT_EQ(wakes, 1) << "the dispatcher is woken for the new rows";
  ASSERT_EQ(live.of("call.status").size(), 1u);
  auto counters = live.of("pipeline.counters");
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0]["counts"], (json{{"notified", 1}}));

  // A redelivery of the message: the call is notified, nothing more is enqueued.
  const auto before = deliveries.deliveries().size();
  auto again = handle(id);
  ASSERT_TRUE(again);
  EXPECT_EQ(deliveries.deliveries().size(), before);
  EXPECT_EQ(wakes, 1);
}

TEST_F(NotifyWithFakes, TheStepToNotifiedObservesTheTimeSinceTheCallWasCreated) {
  const auto id = call_in(CallStatus::kAnalyzed);
  clock.advance(std::chrono::seconds(95));
  ASSERT_TRUE(handle(id));
  ASSERT_EQ(calls.get(t, id)->status, CallStatus::kNotified);
  // A redelivery moves nothing and observes nothing.
  clock.advance(std::chrono::seconds(1000));
  ASSERT_TRUE(handle(id));
  const std::string text = metrics.serialize();
  auto has = [&](const std::string& line) { return text.find(line) != std::string::npos; };
  EXPECT_TRUE(has("earshot_call_ingest_to_notified_seconds_count 1\n")) << text;
  EXPECT_TRUE(has("earshot_call_ingest_to_notified_seconds_sum 95\n")) << text;
  EXPECT_TRUE(has(R"(earshot_call_ingest_to_notified_seconds_bucket{le="60"} 0)")) << text;
  EXPECT_TRUE(has(R"(earshot_call_ingest_to_notified_seconds_bucket{le="120"} 1)")) << text;
  // A failed call is announced but never reaches notified: not observed.
  const auto failed = call_in(CallStatus::kFailed, "c-2");
  ASSERT_TRUE(handle(failed, queue::NotifyEvent::kCallFailed));
  EXPECT_NE(metrics.serialize().find("earshot_call_ingest_to_notified_seconds_count 1\n"), std::string::npos);
}

TEST_F(NotifyWithFakes, EscalationBelowTheMinimumSeverityRaisesNoAlert) {
  const auto id = call_in(CallStatus::kAnalyzed);
  ASSERT_TRUE(escalations.create(t, id, "long hold", storage::EscalationSeverity::kLow));
  const auto sub = subscribe({"escalation.created"});
  BusinessNotifySettings ns;
  ns.alert_emails = {"qa@acme.test"};
  ns.chat_webhook_url = "https://chat.acme.test/hook";
  ASSERT_TRUE(deliveries.put_settings_json(t, ns.to_json().dump()));  // min_severity medium

  ASSERT_TRUE(handle(id));
  ASSERT_EQ(rows(DeliveryChannel::kWebhook, sub).size(), 1u) << "subscribers still hear of it";
  EXPECT_TRUE(rows(DeliveryChannel::kEmail).empty());
  EXPECT_TRUE(rows(DeliveryChannel::kChat).empty());
}

TEST_F(NotifyWithFakes, FailedCallIsAnnouncedAsCallFailedAndStaysFailed) {
  const auto id = call_in(CallStatus::kFailed);
  const auto wants_failed = subscribe({"call.failed"});
  const auto wants_analyzed = subscribe({"call.analyzed"});

  ASSERT_TRUE(handle(id, queue::NotifyEvent::kCallFailed));
  auto hooks = rows(DeliveryChannel::kWebhook, wants_failed);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(json::parse(hooks[0].payload_json)["data"]["reason"], "no audio");
  EXPECT_TRUE(rows(DeliveryChannel::kWebhook, wants_analyzed).empty());
  EXPECT_EQ(calls.get(t, id)->status, CallStatus::kFailed);
  EXPECT_EQ(wakes, 1);
}

TEST_F(NotifyWithFakes, AnAnalyzedMessageForACallNotAnalyzedIsSkipped) {
  const auto id = call_in(CallStatus::kTranscribed);
  subscribe({"call.analyzed"});
  ASSERT_TRUE(handle(id));
  EXPECT_TRUE(deliveries.deliveries().empty());
  EXPECT_EQ(calls.get(t, id)->status, CallStatus::kTranscribed);
}

TEST_F(NotifyWithFakes, ScheduleUnavailableLeavesTheCallAnalyzedForARetry) {
  const auto id = call_in(CallStatus::kAnalyzed);
  subscribe({"call.analyzed"});
  deliveries.fail_next(Error(ErrorCode::kUnavailable, "database down"));
  auto r = handle(id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(calls.get(t, id)->status, CallStatus::kAnalyzed);
  EXPECT_TRUE(deliveries.deliveries().empty());
}

// ---- the dispatcher ----

class DispatcherWithFakes : public NotifyWithFakes {
 protected:
  void TearDown() override {
    if (dispatcher) dispatcher->stop();
  }

  Dispatcher& start(ScriptedHttp& http, NotifySettings s) {
    s.poll_interval = 5ms;
    dispatcher = std::make_unique<Dispatcher>(
        s, DispatcherDeps{deliveries, http, configs, nullptr, metrics, clock, live.publisher()});
    EXPECT_TRUE(dispatcher->start());
    return *dispatcher;
  }

  storage::Id enqueue_one(storage::Id sub, const std::string& event_id = "evt-1") {
    storage::NewDelivery n{DeliveryChannel::kWebhook, sub, std::nullopt, "call.analyzed", event_id, R"({"id":"x"})"};
    EXPECT_EQ(*deliveries.enqueue(t, std::span<const storage::NewDelivery>(&n, 1), storage::to_timestamp(clock.now())),
              1);
    return deliveries.deliveries().back().id;
  }

  // Moves time on and lets the dispatcher look again; waits for `n` recorded attempts.
  bool next_attempt(std::chrono::milliseconds by, std::uint64_t n) {
    clock.advance(by);
    dispatcher->wake();
    return wait_until([&] { return dispatcher->recorded() >= n; }, 5s);
  }

  std::unique_ptr<Dispatcher> dispatcher;
};

TEST_F(DispatcherWithFakes, SuccessIsRecordedWithTheSignedRequest) {
  ScriptedHttp http({200});
  const auto sub = subscribe({"call.analyzed"});
  const auto id = enqueue_one(sub);
  start(http, settings);
  ASSERT_TRUE(wait_until([&] { return dispatcher->recorded() == 1; }, 5s));
  auto d = *deliveries.get_delivery(t, id);
  EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d.response_code, 200);
  EXPECT_EQ(d.attempts, 1);
  ASSERT_EQ(http.requests().size(), 1u);
  EXPECT_EQ(http.requests()[0].url, "https://hooks.acme.test/x");
  EXPECT_EQ(http.requests()[0].body, R"({"id":"x"})");
  ASSERT_EQ(deliveries.list_attempts(t, id)->size(), 1u);
  EXPECT_EQ(deliveries.list_attempts(t, id)->at(0).outcome, "delivered");
  EXPECT_EQ(live.of("delivery.succeeded").size(), 1u);
}

TEST_F(DispatcherWithFakes, RetryableFailuresBackOffThenPauseTheSubscription) {
  ScriptedHttp http({503});
  auto s = settings;
  s.retry_initial = 10s;
  s.max_attempts = 10;
  s.pause_after_failures = 3;
  const auto sub = subscribe({"call.analyzed"});
  const auto id = enqueue_one(sub);
  start(http, s);
  ASSERT_TRUE(wait_until([&] { return dispatcher->recorded() == 1; }, 5s));
  auto d = *deliveries.get_delivery(t, id);
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.last_error.rfind("HTTP 503", 0), 0u) << d.last_error;
  // First retry after retry_initial, +-20% jitter.
  const auto now = storage::to_timestamp(clock.now());
  EXPECT_GE(d.next_attempt_at, now + 8s);
  EXPECT_LE(d.next_attempt_at, now + 12s);
  EXPECT_FALSE(deliveries.get_subscription(t, sub)->paused_at.has_value());

  ASSERT_TRUE(next_attempt(13s, 2));
  EXPECT_EQ(deliveries.get_subscription(t, sub)->consecutive_failures, 2);
  EXPECT_FALSE(deliveries.get_subscription(t, sub)->paused_at.has_value());
  // The second delay doubles: 20 s +-20%.
  d = *deliveries.get_delivery(t, id);
  EXPECT_GE(d.next_attempt_at, storage::to_timestamp(clock.now()) + 16s);
  ASSERT_TRUE(next_attempt(25s, 3));

  auto paused = *deliveries.get_subscription(t, sub);
  ASSERT_TRUE(paused.paused_at.has_value()) << "the third failure in a row pauses the subscription";
  EXPECT_NE(paused.pause_reason.find("3 consecutive failed attempts"), std::string::npos) << paused.pause_reason;
  EXPECT_EQ(deliveries.get_delivery(t, id)->status, DeliveryStatus::kPending) << "it waits for the resume";
  ASSERT_TRUE(wait_until([&] { return live.of("delivery.subscription_paused").size() == 1; }, 5s));
  EXPECT_EQ(live.of("delivery.retrying").size(), 3u);
  EXPECT_EQ(http.requests().size(), 3u);
}

TEST_F(DispatcherWithFakes, PermanentRefusalFailsTheDeliveryAtOnce) {
  ScriptedHttp http({410});
  const auto sub = subscribe({"call.analyzed"});
  const auto id = enqueue_one(sub);
  start(http, settings);
  ASSERT_TRUE(wait_until([&] { return dispatcher->recorded() == 1; }, 5s));
  auto d = *deliveries.get_delivery(t, id);
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.response_code, 410);
  EXPECT_EQ(deliveries.list_attempts(t, id)->at(0).outcome, "failed");
  EXPECT_EQ(deliveries.get_subscription(t, sub)->consecutive_failures, 1);
  EXPECT_EQ(live.of("delivery.failed").size(), 1u);
}

TEST_F(DispatcherWithFakes, RetriesEndAfterMaxAttemptsAndASuccessResetsTheStreak) {
  ScriptedHttp http({500, 500, 200});
  auto s = settings;
  s.retry_initial = 1s;
  s.max_attempts = 2;
  s.pause_after_failures = 100;
  const auto sub = subscribe({"call.analyzed"});
  const auto first = enqueue_one(sub, "evt-1");
  start(http, s);
  ASSERT_TRUE(wait_until([&] { return dispatcher->recorded() == 1; }, 5s));
  ASSERT_TRUE(next_attempt(2s, 2));
  auto d = *deliveries.get_delivery(t, first);
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.last_error.rfind("gave up after 2 attempts", 0), 0u) << d.last_error;
  EXPECT_EQ(deliveries.get_subscription(t, sub)->consecutive_failures, 2);

  const auto second = enqueue_one(sub, "evt-2");
  ASSERT_TRUE(next_attempt(0ms, 3));
  EXPECT_EQ(deliveries.get_delivery(t, second)->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(deliveries.get_subscription(t, sub)->consecutive_failures, 0);
}

// A database restart while a claimed batch is being sent: the subscription cannot be read,
// so nothing is sent. Those attempts are retried but are not the receiver's failures: the
// subscription is not paused however many there are, and they all go out once the database
// is back.
TEST_F(DispatcherWithFakes, PlatformSideFailuresAreRetriedWithoutPausingTheSubscription) {
  ScriptedHttp http({200});
  auto s = settings;
  s.retry_initial = 1s;
  s.max_attempts = 2;
  s.pause_after_failures = 3;
  const auto sub = subscribe({"call.analyzed"});
  for (int i = 0; i < 8; ++i) enqueue_one(sub, "evt-" + std::to_string(i));
  deliveries.fail_subscription_reads(Error(ErrorCode::kUnavailable, "Lost connection to server during query"));
  start(http, s);
  ASSERT_TRUE(wait_until([&] { return dispatcher->recorded() == 8; }, 5s));
  EXPECT_TRUE(http.requests().empty()) << "nothing can be sent without the subscription";
  auto listed = deliveries.list_subscriptions(t);  // get_subscription fails meanwhile
  ASSERT_TRUE(listed && listed->size() == 1u);
  auto state = listed->front();
  ASSERT_EQ(state.id, sub);
  EXPECT_FALSE(state.paused_at.has_value()) << state.pause_reason;
  EXPECT_EQ(state.consecutive_failures, 0);
  const auto now = storage::to_timestamp(clock.now());
  for (const auto& d : deliveries.deliveries()) {
    EXPECT_EQ(d.status, DeliveryStatus::kPending);
    EXPECT_EQ(d.next_attempt_at, now + 1s) << "retried after retry_initial, not backed off";
    EXPECT_NE(d.last_error.find("Lost connection"), std::string::npos) << d.last_error;
  }
  EXPECT_TRUE(live.of("delivery.subscription_paused").empty());

  // A second outage past max_attempts still gives up nothing.
  ASSERT_TRUE(next_attempt(1s, 16));
  for (const auto& d : deliveries.deliveries()) EXPECT_EQ(d.status, DeliveryStatus::kPending);

  deliveries.fail_subscription_reads(std::nullopt);
  ASSERT_TRUE(next_attempt(1s, 24));
  for (const auto& d : deliveries.deliveries()) EXPECT_EQ(d.status, DeliveryStatus::kDelivered) << d.event_id;
  EXPECT_EQ(http.requests().size(), 8u);
  EXPECT_FALSE(deliveries.get_subscription(t, sub)->paused_at.has_value());
}

// The receiver's own failures still count: the same eight attempts answered 503 pause it.
TEST_F(DispatcherWithFakes, ReceiverFailuresInOneBatchStillPauseTheSubscription) {
  ScriptedHttp http({503});
  auto s = settings;
  s.pause_after_failures = 3;
  const auto sub = subscribe({"call.analyzed"});
  for (int i = 0; i < 8; ++i) enqueue_one(sub, "evt-" + std::to_string(i));
  start(http, s);
  ASSERT_TRUE(wait_until([&] { return dispatcher->recorded() == 8; }, 5s));
  auto state = *deliveries.get_subscription(t, sub);
  EXPECT_TRUE(state.paused_at.has_value());
  EXPECT_GE(state.consecutive_failures, 3);
}

}  // namespace
}  // namespace earshot::notify

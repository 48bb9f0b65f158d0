// The notify stage end to end through the real queue and database: an analyzed call ends
// `notified` with its webhooks delivered, signed and logged, its escalation alerted by
// e-mail (SMTP sink) and chat, and its summary written back to the matched LeadSquared lead
// (fake); a redelivered message changes nothing; a failed call is announced; and the real
// earshot-notify binary killed mid-delivery delivers the event once after a restart.
#include "earshot/notify/notify_stage.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "earshot/notify/signature.hpp"
#include "earshot/queue/publisher.hpp"
#include "fakes/crm/fake_leadsquared.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "notify_fixture.hpp"
#include "process.hpp"
#include "queue_fixture.hpp"
#include "smtp_sink.hpp"
#include "webhook_receiver.hpp"

namespace earshot::notify::testing {
namespace {

using earshot::testing::wait_until;
using queue::Stage;
using storage::CallStatus;

class NotifyStageTest : public queue::testing::QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    auto& db = earshot::testing::StorageEnvironment::db();
    store = std::make_unique<storage::MySqlDeliveryRepository>(db, test_keyring());
    escalations = std::make_unique<storage::MySqlEscalationRepository>(db);
    calls = std::make_unique<storage::MySqlCallRepository>(db);
    analyses = std::make_unique<storage::MySqlAnalysisRepository>(db);
    agent_configs = std::make_unique<storage::MySqlAgentConfigRepository>(db);
    matches = std::make_unique<storage::MySqlCategoryMatchRepository>(db);
    categories =
        std::make_unique<storage::MySqlRuleSetRepository>(db, storage::MySqlRuleSetRepository::Kind::kCategories);
    humans = std::make_unique<storage::MySqlHumanAgentRepository>(db);
    leads = std::make_unique<storage::MySqlCrmLeadRepository>(db);
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(db, test_keyring());
    events = std::make_unique<storage::MySqlProcessingEventRepository>(db);
    http = std::make_unique<http::CurlHttpClient>();
  }
  void TearDown() override {
    if (worker) {
      worker->stop_intake();
      worker->drain(std::chrono::steady_clock::now() + 5s);
      worker->stop();
    }
    if (dispatcher) dispatcher->stop_intake();
    http->shutdown();
    if (dispatcher) dispatcher->stop();
    QueueTest::TearDown();
  }

  void run_worker(NotifySettings s, MailSender* mail) {
    dispatcher = std::make_unique<Dispatcher>(
        s, DispatcherDeps{*store, *http, *configs, mail, *metrics, SystemClock::instance(), publish_fn()});
    ASSERT_TRUE(dispatcher->start());
    stage = std::make_unique<NotifyStage>(
        s, NotifyStageDeps{*store, *calls, *analyses, *agent_configs, *matches, *categories, *humans, *leads, *configs,
                           *events, *escalations, *metrics, SystemClock::instance(), [this] { dispatcher->wake(); },
                           publish_fn()});
    dir.enable(bid_for_worker);
    queue::StageWorkerOptions o;
    o.stage = Stage::kNotify;
    worker = make_worker(*stage, dir, rec, o);
    ASSERT_TRUE(worker->start());
  }

  EventPublisher publish_fn() {
    return [this](const std::string& bid, std::string_view type, nlohmann::json data) {
      std::lock_guard lock(mu);
      live.push_back({{"bid", bid}, {"type", type}, {"data", data}});
    };
  }

  // A call that went through the analyze stage: agent, customer, summary, QA score, one
  // category match and an escalation.
  storage::Id analyzed_call(const storage::TenantId& t, const std::string& ext, const std::string& phone) {
    auto agent = humans->upsert(t, {"ag-1", "Sarah", "support", "Pune"});
    EXPECT_TRUE(agent);
    storage::CallInput in;
    in.external_id = ext;
    in.human_agent_id = *agent;
    in.customer_phone = phone;
    in.customer_name = "Ann";
    in.duration_ms = 40000;
    in.started_at = storage::to_timestamp(std::chrono::system_clock::now());
    auto up = calls->upsert(t, in);
    EXPECT_TRUE(up) << up.error().to_string();
    const auto id = up->id;
    for (auto [from, to] : {std::pair{CallStatus::kPending, CallStatus::kTranscribing},
                            {CallStatus::kTranscribing, CallStatus::kTranscribed},
                            {CallStatus::kTranscribed, CallStatus::kAnalyzing}}) {
      EXPECT_TRUE(*calls->advance(t, id, from, to));
    }
    storage::RuleSet refund;
    refund.name = "Refund request";
    refund.rules_json = R"([{"type":"transcript","phrases":["refund"]}])";
    auto cat = categories->list(t);
    storage::Id cat_id = 0;
    for (const auto& c : *cat)
      if (c.name == refund.name) cat_id = c.id;
    if (!cat_id) cat_id = *categories->create(t, refund);
    EXPECT_TRUE(matches->replace(t, id, {{cat_id, R"([{"begin_ms":4500,"end_ms":11000}])"}}));
    storage::Id summary_agent = 0;
    const auto configs_now = agent_configs->list(t, false);
    for (const auto& c : *configs_now)
      if (c.name == "builtin.summary") summary_agent = c.id;
    if (!summary_agent) {
      storage::AgentConfig c;
      c.name = "builtin.summary";
      summary_agent = *agent_configs->create(t, c);
    }
    storage::CallAnalysisResult r;
    storage::AnalysisInput a;
    a.agent_config_id = summary_agent;
    a.output_json = R"({"summary":"Customer asked for a refund; the agent issued it."})";
    r.analyses.push_back(a);
    r.qa_score = 0.75;
    r.escalation_reason = "Customer asked for a supervisor";
    r.escalation_severity = storage::EscalationSeverity::kHigh;
    r.at = storage::to_timestamp(std::chrono::system_clock::now());
    auto rec_ok = analyses->record(t, id, r);
    EXPECT_TRUE(rec_ok && rec_ok->recorded) << (rec_ok ? "not recorded" : rec_ok.error().to_string());
    EXPECT_EQ(calls->get(t, id)->status, CallStatus::kAnalyzed) << "record() moves the call to analyzed";
    return id;
  }

  queue::OutgoingMessage notify_message(const storage::TenantId& t, storage::Id id,
                                        const char* event = "call.analyzed") {
    queue::Envelope env;
    env.bid = t.bid();
    env.stage = Stage::kNotify;
    env.trace_id = "trace";
    nlohmann::json body{{"schema_version", 1}, {"bid", t.bid()}, {"call_id", std::to_string(id)}, {"event", event}};
    return queue::make_stage_message(topo, env, body.dump());
  }

  CallStatus status(const storage::TenantId& t, storage::Id id) {
    auto c = calls->get(t, id);
    return c ? c->status : CallStatus::kPending;
  }

  int processing_events(const storage::TenantId& t, storage::Id id, storage::EventOutcome o) {
    int n = 0;
    const auto list = events->list_for_call(t, id);
    if (!list) return -1;
    for (const auto& e : *list) n += (e.stage == "notify" && e.outcome == o) ? 1 : 0;
    return n;
  }

  std::unique_ptr<storage::MySqlDeliveryRepository> store;
  std::unique_ptr<storage::MySqlEscalationRepository> escalations;
  std::unique_ptr<storage::MySqlCallRepository> calls;
  std::unique_ptr<storage::MySqlAnalysisRepository> analyses;
  std::unique_ptr<storage::MySqlAgentConfigRepository> agent_configs;
  std::unique_ptr<storage::MySqlCategoryMatchRepository> matches;
  std::unique_ptr<storage::MySqlRuleSetRepository> categories;
  std::unique_ptr<storage::MySqlHumanAgentRepository> humans;
  std::unique_ptr<storage::MySqlCrmLeadRepository> leads;
  std::unique_ptr<storage::MySqlPipelineConfigRepository> configs;
  std::unique_ptr<storage::MySqlProcessingEventRepository> events;
  std::unique_ptr<http::CurlHttpClient> http;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<NotifyStage> stage;
  std::unique_ptr<queue::StageWorker> worker;
  queue::InMemoryBusinessDirectory dir;
  queue::InMemoryOutcomeRecorder rec;
  std::string bid_for_worker;
  std::mutex mu;
  std::vector<nlohmann::json> live;
};

TEST_F(NotifyStageTest, AnalyzedCallEndsNotifiedWithWebhookDeliveredSignedAndLogged) {
  const auto t = earshot::testing::new_tenant("ns");
  bid_for_worker = t.bid();
  declare(Stage::kNotify, t.bid());
  const std::string secret = new_signing_secret();
  earshot::testing::WebhookReceiver rx(secret);
  earshot::testing::WebhookReceiver chat("unused");
  chat.set_verify(false);
  earshot::testing::SmtpSink smtp;
  earshot::testing::FakeLeadSquared crm("ak", "sk");
  ASSERT_TRUE(rx.start() && chat.start() && smtp.start() && crm.start());
  crm.add_lead("LEAD-9");
  const auto sub = store->create_subscription(t, rx.url(), "ops",
                                              {"call.analyzed", "escalation.created", "category.matched"}, secret);
  ASSERT_TRUE(sub);
  // A subscription for other events gets nothing.
  earshot::testing::WebhookReceiver other("x");
  ASSERT_TRUE(other.start());
  ASSERT_TRUE(store->create_subscription(t, other.url(), "", {"call.failed"}, "x"));
  storage::PipelineConfig cfg;
  cfg.crm_json = nlohmann::json{{"kind", "leadsquared"}, {"host", crm.base_url()}}.dump();
  cfg.secrets = {{"crm_access_key", "ak"}, {"crm_secret_key", "sk"}};
  ASSERT_TRUE(configs->put(t, cfg));
  ASSERT_TRUE(
      leads->upsert(t, {0, "+14155550100", "LEAD-9", "{}", storage::to_timestamp(std::chrono::system_clock::now())}));
  BusinessNotifySettings ns;
  ns.link_base_url = "https://app.acme.test";
  ns.alert_emails = {"qa@acme.test"};
  ns.chat_webhook_url = chat.url("/chat");
  ASSERT_TRUE(store->put_settings_json(t, ns.to_json().dump()));
  const auto id = analyzed_call(t, "c-1", "+14155550100");

  CurlSmtpSender mail(SmtpOptions{smtp.url(), "earshot@acme.test", "", "", 5s});
  run_worker(fast_settings(), &mail);
  queue::Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(notify_message(t, id)));

  ASSERT_TRUE(wait_until([&] { return status(t, id) == CallStatus::kNotified; }, 30s))
      << storage::status_name(status(t, id));
  ASSERT_TRUE(wait_until([&] { return rx.accepted_count() == 3; }, 20s)) << rx.request_count();
  EXPECT_EQ(rx.bad_signatures(), 0);
  nlohmann::json analyzed;
  std::set<std::string> types;
  for (const auto& r : rx.accepted()) {
    EXPECT_TRUE(r.signature_ok);
    types.insert(r.event_type);
    if (r.event_type == "call.analyzed") analyzed = nlohmann::json::parse(r.body);
  }
  EXPECT_EQ(types, (std::set<std::string>{"call.analyzed", "escalation.created", "category.matched"}));
  EXPECT_EQ(analyzed["version"], 1);
  EXPECT_EQ(analyzed["bid"], t.bid());
  EXPECT_EQ(analyzed["data"]["call"]["id"], id);
  EXPECT_EQ(analyzed["data"]["call"]["agent"]["name"], "Sarah");
  EXPECT_EQ(analyzed["data"]["summary"], "Customer asked for a refund; the agent issued it.");
  EXPECT_DOUBLE_EQ(analyzed["data"]["scores"]["qa_score"].get<double>(), 0.75);
  EXPECT_EQ(analyzed["data"]["categories"], nlohmann::json::array({"Refund request"}));
  EXPECT_EQ(analyzed["data"]["escalation"]["reason"], "Customer asked for a supervisor");
  EXPECT_EQ(analyzed["data"]["link"], fmt::format("https://app.acme.test/calls/{}", id));
  EXPECT_EQ(other.request_count(), 0);

  // Logged: every webhook delivery delivered with its attempt (recorded just after the
  // receiver answered).
  ASSERT_TRUE(wait_until(
      [&] {
        auto all = store->list_deliveries(t, *sub, 10, std::nullopt);
        if (!all || all->size() != 3u) return false;
        for (const auto& d : *all)
          if (d.status != DeliveryStatus::kDelivered) return false;
        return true;
      },
      20s));
  auto ds = store->list_deliveries(t, *sub, 10, std::nullopt);
  ASSERT_EQ(ds->size(), 3u);
  for (const auto& d : *ds) {
    EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
    EXPECT_EQ(d.response_code, 200);
    EXPECT_EQ(d.call_id, id);
    EXPECT_EQ(store->list_attempts(t, d.id)->size(), 1u);
  }
  // Alerts and CRM write-back.
  ASSERT_TRUE(wait_until(
      [&] { return smtp.messages().size() == 1 && chat.accepted_count() == 1 && crm.activities().size() == 1; }, 20s));
  const auto m = smtp.messages()[0];
  EXPECT_EQ(m.to, std::vector<std::string>{"qa@acme.test"});
  EXPECT_NE(m.data.find("Subject: [Earshot] high escalation: Customer asked for a supervisor"), std::string::npos)
      << m.data;
  EXPECT_NE(m.data.find("Customer: Ann (+14155550100)"), std::string::npos) << m.data;
  EXPECT_NE(m.data.find("Agent: Sarah"), std::string::npos);
  EXPECT_NE(m.data.find(fmt::format("https://app.acme.test/calls/{}", id)), std::string::npos);
  auto chat_body = nlohmann::json::parse(chat.accepted()[0].body);
  EXPECT_EQ(chat_body["reason"], "Customer asked for a supervisor");
  EXPECT_EQ(chat_body["agent"], "Sarah");
  EXPECT_EQ(chat_body["customer"], "Ann (+14155550100)");
  EXPECT_EQ(chat_body["link"], fmt::format("https://app.acme.test/calls/{}", id));
  const auto act = crm.activities()[0];
  EXPECT_EQ(act["RelatedProspectId"], "LEAD-9");
  EXPECT_EQ(act["ActivityEvent"], 201);
  EXPECT_NE(act["ActivityNote"].get<std::string>().find("Customer asked for a refund"), std::string::npos);
  EXPECT_EQ(act["Fields"][0], (nlohmann::json{{"SchemaName", "mx_Custom_1"}, {"Value", "0.75"}}));
  EXPECT_EQ(act["Fields"][2]["Value"], fmt::format("https://app.acme.test/calls/{}", id));
  EXPECT_EQ(processing_events(t, id, storage::EventOutcome::kSucceeded), 1);
  {
    std::lock_guard lock(mu);
    bool status_event = false;
    for (const auto& e : live) {
      if (e["type"] == "call.status" && e["data"]["status"] == "notified" && e["data"]["call_id"] == id)
        status_event = true;
    }
    EXPECT_TRUE(status_event);
    bool counters = false;
    for (const auto& e : live) {
      if (e["type"] == "pipeline.counters" && e["data"]["counts"].value("notified", 0) == 1) counters = true;
    }
    EXPECT_TRUE(counters);
  }

  // The same message again (at-least-once): skipped, nothing sent twice.
  const int before = rx.request_count();
  ASSERT_TRUE(pub.publish(notify_message(t, id)));
  ASSERT_TRUE(wait_until([&] { return processing_events(t, id, storage::EventOutcome::kSkipped) == 1; }, 20s));
  EXPECT_EQ(rx.request_count(), before);
  EXPECT_EQ(rx.duplicates(), 0);
  EXPECT_EQ(crm.activities().size(), 1u);
  EXPECT_EQ(smtp.messages().size(), 1u);
}

TEST_F(NotifyStageTest, FailedCallIsAnnouncedToItsSubscribers) {
  const auto t = earshot::testing::new_tenant("nf");
  bid_for_worker = t.bid();
  declare(Stage::kNotify, t.bid());
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  ASSERT_TRUE(store->create_subscription(t, rx.url(), "", {"call.failed"}, "s"));
  storage::CallInput in;
  in.external_id = "f-1";
  in.started_at = storage::to_timestamp(std::chrono::system_clock::now());
  const auto id = calls->upsert(t, in)->id;
  ASSERT_TRUE(*calls->mark_failed(t, id, "stt", "audio could not be decoded"));
  run_worker(fast_settings(), nullptr);
  queue::Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(notify_message(t, id, "call.failed")));
  ASSERT_TRUE(wait_until([&] { return rx.accepted_count() == 1; }, 20s));
  auto ev = nlohmann::json::parse(rx.accepted()[0].body);
  EXPECT_EQ(ev["type"], "call.failed");
  EXPECT_EQ(ev["data"]["failed_stage"], "stt");
  EXPECT_EQ(ev["data"]["reason"], "audio could not be decoded");
  EXPECT_EQ(status(t, id), CallStatus::kFailed);
}

TEST_F(NotifyStageTest, WorkerKilledMidDeliveryDeliversOnceAfterRestart) {
  const auto t = earshot::testing::new_tenant("nk");
  declare(Stage::kNotify, t.bid());
  earshot::testing::WebhookReceiver rx("whsec_kill");
  ASSERT_TRUE(rx.start());
  rx.hold_next(1, 120s);  // the first request is never answered while the worker lives
  ASSERT_TRUE(store->create_subscription(t, rx.url(), "", {"call.analyzed"}, "whsec_kill"));
  const auto id = analyzed_call(t, "k-1", "+14155550111");

  const auto ep = earshot::testing::endpoints();
  auto env_for = [&] {
    return std::map<std::string, std::string>{
        {"EARSHOT_MYSQL_HOST", ep.mysql_host},
        {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
        {"EARSHOT_MYSQL_USER", ep.mysql_user},
        {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
        {"EARSHOT_MYSQL_DATABASE", earshot::testing::StorageEnvironment::database_name()},
        {"EARSHOT_AMQP_URL", ep.amqp_url},
        {"EARSHOT_REDIS_URL", ep.redis_url},
        {"EARSHOT_ADMIN_PORT", std::to_string(earshot::testing::free_port())},
        {"EARSHOT_MASTER_KEYS", "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
        {"EARSHOT_MASTER_KEY_ID", "k1"},
        {"EARSHOT_EGRESS_ALLOW", "127.0.0.1:" + std::to_string(rx.port())},  // the receiver, exactly
        {"EARSHOT_NOTIFY_REQUEST_TIMEOUT", "2s"},
        {"EARSHOT_NOTIFY_LEASE", "3s"},
        {"EARSHOT_NOTIFY_POLL_INTERVAL", "50ms"},
        {"EARSHOT_QUEUE_RETRY_DELAYS", "300ms,600ms"},
    };
  };
  const std::string bin = std::string(EARSHOT_BIN_DIR) + "/earshot-notify";
  auto first = std::make_unique<earshot::testing::ChildProcess>(bin, std::vector<std::string>{}, env_for());
  ASSERT_TRUE(first->start());
  queue::Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(notify_message(t, id)));
  ASSERT_TRUE(wait_until([&] { return rx.request_count() == 1; }, 30s)) << first->output();
  first->signal(SIGKILL);
  ASSERT_TRUE(first->wait_exit(10s).has_value());
  EXPECT_EQ(status(t, id), CallStatus::kNotified) << "handed to the durable schedule before delivery";
  EXPECT_EQ(rx.accepted_count(), 0);

  earshot::testing::ChildProcess second(bin, {}, env_for());
  ASSERT_TRUE(second.start());
  ASSERT_TRUE(wait_until([&] { return rx.accepted_count() == 1; }, 30s)) << second.output();
  auto subs = store->list_subscriptions(t);
  auto ds = store->list_deliveries(t, (*subs)[0].id, 10, std::nullopt);
  ASSERT_EQ(ds->size(), 1u);
  ASSERT_TRUE(
      wait_until([&] { return store->get_delivery(t, (*ds)[0].id)->status == DeliveryStatus::kDelivered; }, 10s));
  EXPECT_EQ(store->get_delivery(t, (*ds)[0].id)->attempts, 2) << "claimed by the killed worker, then after the lease";
  const auto reqs = rx.requests();
  ASSERT_GE(reqs.size(), 1u);
  EXPECT_EQ(rx.request_count(), 2);
  EXPECT_EQ(rx.duplicates(), 0);
  EXPECT_TRUE(rx.accepted()[0].signature_ok);
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait_exit(20s), 0) << second.output();
}

}  // namespace
}  // namespace earshot::notify::testing

#pragma once
// The notify stage (notify.{bid}), run by earshot-notify.
//
// For an analyzed call: builds the events (call.analyzed, one escalation.created per
// escalation, one category.matched per matched category), enqueues one delivery per
// subscription that asked for the event type, the CRM activity for the matched LeadSquared
// lead, and the escalation alerts (e-mail, chat) the business configured; all in the
// durable schedule (storage::DeliveryRepository), idempotently (event ids derive from the call's state).
// Then moves the call analyzed -> notified and publishes the status change (and, at most
// once a second per business, pipeline.counters: the business's calls per status). Delivery
// itself is the Dispatcher's: a failing receiver never holds up the call or another
// business. For a failed call ("call.failed") it enqueues the call.failed events.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/notify/dispatcher.hpp"
#include "earshot/notify/settings.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/delivery_repository.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::notify {

struct NotifyStageDeps {
  storage::DeliveryRepository& deliveries;
  storage::CallRepository& calls;
  storage::AnalysisRepository& analyses;
  storage::AgentConfigRepository& agent_configs;
  storage::CategoryMatchRepository& category_matches;
  storage::RuleSetRepository& categories;
  storage::HumanAgentRepository& agents;
  storage::CrmLeadRepository& leads;
  storage::PipelineConfigRepository& configs;
  storage::ProcessingEventRepository& events;
  storage::EscalationRepository& escalations;
  Metrics& metrics;
  Clock& clock;
  std::function<void()> wake;    // the dispatcher's wake(); may be empty
  EventPublisher publish_event;  // live events; may be empty
};

class NotifyStage final : public queue::StageHandler {
 public:
  NotifyStage(NotifySettings settings, NotifyStageDeps deps);
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;
  // earshot_call_ingest_to_notified_seconds: 1 s .. 24 h.
  [[nodiscard]] static prometheus::Histogram::BucketBoundaries ingest_to_notified_buckets();

 private:
  NotifySettings s_;
  NotifyStageDeps d_;
  prometheus::Family<prometheus::Counter>* enqueued_;
  prometheus::Family<prometheus::Counter>* calls_;
  prometheus::Histogram* ingest_to_notified_;
  std::mutex counters_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> counters_at_;  // per business
};

}  // namespace earshot::notify

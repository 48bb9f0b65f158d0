// earshot-notify: consumes notify.{bid}; turns an analyzed call into webhook deliveries,
// CRM write-back and escalation alerts in the durable delivery schedule, marks the call
// notified, and runs the dispatcher that delivers (signed, retried, paused when failing).
#include "earshot/notify/dispatcher.hpp"
#include "earshot/notify/notify_stage.hpp"
#include "earshot/notify/smtp.hpp"
#include "worker_kit.hpp"

namespace {

using namespace earshot;

struct Notify {
  fleet::WorkerKit kit{
      {.stage = queue::Stage::kNotify, .handler_threads = 4, .business_in_flight = 2, .legacy_prefix = "notify"}};
  notify::NotifySettings settings;
  std::optional<notify::CurlSmtpSender> smtp;
  std::optional<notify::NotifyStage> stage;

  Status wire(Runtime& rt) {
    if (settings.lease <= settings.request_timeout) {
      return make_error(ErrorCode::kInvalidArgument, "EARSHOT_NOTIFY_LEASE must exceed EARSHOT_NOTIFY_REQUEST_TIMEOUT");
    }
    if (!settings.smtp_url.empty()) {
      smtp.emplace(notify::SmtpOptions{settings.smtp_url, settings.smtp_from, settings.smtp_username,
                                       settings.smtp_password, settings.request_timeout});
    }
    notify::EventPublisher publish = [this](const std::string& bid, std::string_view type, nlohmann::json data) {
      (void)kit.live_events().publish(bid, type, std::move(data));
    };
    // Webhooks, chat hooks and CRM write-back go to the business's URLs (the tenant client).
    auto& r = kit.repos();
    auto dispatcher = std::make_unique<notify::Dispatcher>(
        settings,
        notify::DispatcherDeps{
            r.deliveries, kit.tenant_http(), r.pipeline_configs, smtp ? &*smtp : nullptr, rt.metrics(), rt.clock(),
            publish, [this](const std::string& bid, std::string_view crm, int status, std::string_view error) {
              kit.provider_errors().record(bid, "crm", crm, status, error);
            }});
    stage.emplace(settings, notify::NotifyStageDeps{r.deliveries, r.calls, r.analyses, r.agent_configs,
                                                    r.category_matches, r.categories, r.human_agents, r.crm_leads,
                                                    r.pipeline_configs, r.events, r.escalations, rt.metrics(),
                                                    rt.clock(), [d = dispatcher.get()] { d->wake(); }, publish});
    // Started in order, stopped in reverse: the stage stops taking calls, then the
    // dispatcher finishes the attempts in flight.
    rt.add_component(std::move(dispatcher));
    kit.add_worker(rt, *stage);
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Notify n;
  return fleet::run_worker(argc, argv, n.kit,
                           {.name = "notify",
                            .summary = "delivers webhooks, CRM write-back, alerts and live events (notify.{bid})",
                            .default_admin_port = 18094,
                            .declare = [&](ConfigSpec& spec) { n.settings.declare(spec); },
                            .wire = [&](Runtime& rt) { return n.wire(rt); }});
}

#include "earshot/notify/notify_stage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "earshot/core/log.hpp"
#include "earshot/notify/channels.hpp"
#include "earshot/notify/events.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/outcome.hpp"
#include "earshot/storage/stage_call.hpp"

namespace earshot::notify {

using nlohmann::json;
using storage::CallStatus;
using storage::DeliveryChannel;
using storage::NewDelivery;

namespace {

constexpr std::string_view kStage = "notify";

json opt_num(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

int severity_rank(std::string_view s) {
  return s == "high" ? 2 : s == "medium" ? 1 : 0;
}

std::string_view severity_name(storage::EscalationSeverity s) {
  switch (s) {
    case storage::EscalationSeverity::kLow:
      return "low";
    case storage::EscalationSeverity::kMedium:
      return "medium";
    case storage::EscalationSeverity::kHigh:
      return "high";
  }
  return "medium";
}

bool wants(const storage::WebhookSubscription& s, std::string_view type) {
  for (const auto& e : s.events) {
    if (e == type || e == "*") return true;
  }
  return false;
}

}  // namespace

NotifyStage::NotifyStage(NotifySettings settings, NotifyStageDeps deps) : s_(std::move(settings)), d_(std::move(deps)) {
  enqueued_ = &d_.metrics.counter("earshot_notify_enqueued_total", "Deliveries added to the schedule, by channel.");
  calls_ = &d_.metrics.counter("earshot_notify_calls_total", "Calls handled by the notify stage, by outcome.");
  ingest_to_notified_ = &d_.metrics
                             .histogram("earshot_call_ingest_to_notified_seconds",
                                        "Time from a call's creation (ingest or sync) to its step to notified.")
                             .Add({}, ingest_to_notified_buckets());
}

prometheus::Histogram::BucketBoundaries NotifyStage::ingest_to_notified_buckets() {
  return {1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600};
}

queue::HandlerResult NotifyStage::handle(const queue::IncomingMessage& msg) {
  const auto t0 = d_.clock.steady_now();
  auto request = queue::NotifyRequest::parse(msg.body);
  if (!request) return queue::outcome_of(request.error());
  auto stage_call = storage::StageCall::parse(
      {.stage = kStage, .bid = msg.envelope.bid, .attempt = msg.envelope.attempt, .received = t0}, request->call_id,
      {.calls = &d_.calls, .events = &d_.events, .clock = &d_.clock});
  if (!stage_call) return queue::outcome_of(stage_call.error());
  const auto& sc = *stage_call;
  const auto& t = sc.tenant();
  const auto call_id = sc.call_id();
  const bool failed = request->event == queue::NotifyEvent::kCallFailed;
  log::ScopedContext ctx(sc.log_context(msg.envelope.trace_id));

  auto skip = [&](std::string why) -> queue::HandlerResult {
    sc.record(storage::EventOutcome::kSkipped, std::move(why));
    calls_->Add({{"outcome", "skipped"}}).Increment();
    return queue::Outcome{queue::Done{}};
  };

  auto call = sc.load();
  if (!call) return queue::outcome_of(call.error());
  if (failed) {
    if (call->status != CallStatus::kFailed) return skip("call is no longer failed");
  } else if (call->status != CallStatus::kAnalyzed) {
    // notified: done before (a redelivery); earlier: reprocessing started since; failed:
    // nothing to announce as analyzed.
    return skip(fmt::format("call is {}", storage::status_name(call->status)));
  }

  auto settings = load_business_settings(d_.deliveries, t);
  if (!settings) return std::unexpected(settings.error());
  const std::string base = settings->link_base_url.empty() ? s_.public_url : settings->link_base_url;
  const std::string link =
      fmt::format("{}/calls/{}", base.ends_with('/') ? base.substr(0, base.size() - 1) : base, call_id);
  // The call's state changes when it is reprocessed, so the event ids do too; redeliveries of
  // this message produce the same ids.
  const std::string disc = std::to_string(call->status_changed_at.time_since_epoch().count());
  const auto now = d_.clock.now();

  json agent = nullptr;
  std::string agent_name;
  if (const auto& agent_id = call->human_agent_id) {
    auto a = d_.agents.get(t, *agent_id);
    if (a) {
      agent = json{{"id", a->id}, {"external_id", a->external_id}, {"name", a->name}, {"team", a->team}};
      agent_name = a->name;
    } else if (a.error().code != ErrorCode::kNotFound) {
      return std::unexpected(a.error());
    }
  }
  const std::string customer_label =
      call->customer_name.empty() ? call->customer_phone : call->customer_name + " (" + call->customer_phone + ")";
  json call_json{{"id", call_id},
                 {"external_id", call->external_id},
                 {"status", storage::status_name(call->status)},
                 {"started_at", queue::format_utc(call->started_at)},
                 {"duration_ms", call->duration_ms},
                 {"language", call->language},
                 {"city", call->city},
                 {"issue_category", call->issue_category},
                 {"customer", {{"name", call->customer_name}, {"phone", call->customer_phone}}},
                 {"agent", agent}};

  auto subs = d_.deliveries.list_subscriptions(t);
  if (!subs) return std::unexpected(subs.error());
  std::vector<NewDelivery> rows;
  auto to_subscribers = [&](std::string_view type, std::string_view discriminator, json data) {
    const auto id = event_id(t.bid(), call_id, type, discriminator);
    const auto event = make_event(id, type, t.bid(), now, std::move(data)).dump();
    for (const auto& s : *subs) {
      if (!s.enabled || !wants(s, type)) continue;
      rows.push_back(NewDelivery{DeliveryChannel::kWebhook, s.id, call_id, std::string(type), id, event});
    }
  };

  if (failed) {
    to_subscribers("call.failed", disc,
                   json{{"call", call_json},
                        {"failed_stage", call->failed_stage},
                        {"reason", call->failed_reason},
                        {"link", link}});
  } else {
    // Analyses (latest per agent config): summary and QA.
    auto analyses = d_.analyses.list_for_call(t, call_id, true);
    if (!analyses) return std::unexpected(analyses.error());
    auto configs = d_.agent_configs.list(t, false);
    if (!configs) return std::unexpected(configs.error());
    std::map<storage::Id, std::string> config_names;
    for (const auto& c : *configs) config_names[c.id] = c.name;
    std::string summary;
    json analyses_json = json::object();
    for (const auto& a : *analyses) {
      const auto name =
          config_names.count(a.agent_config_id) ? config_names[a.agent_config_id] : std::to_string(a.agent_config_id);
      auto out = json::parse(a.output_json, nullptr, false);
      if (name == "builtin.summary" && out.is_object() && out.contains("summary") && out["summary"].is_string()) {
        summary = out["summary"];
      }
      if (!name.starts_with("builtin.") && !out.is_discarded()) analyses_json[name] = out;
    }
    auto matches = d_.category_matches.list_for_call(t, call_id);
    if (!matches) return std::unexpected(matches.error());
    auto cats = d_.categories.list(t);
    if (!cats) return std::unexpected(cats.error());
    std::map<storage::Id, std::string> cat_names;
    for (const auto& c : *cats) cat_names[c.id] = c.name;
    json categories = json::array();
    for (const auto& m : *matches)
      categories.push_back(cat_names.count(m.category_id) ? cat_names[m.category_id] : std::to_string(m.category_id));
    auto escalations = d_.escalations.list_for_call(t, call_id);
    if (!escalations) return std::unexpected(escalations.error());

    json scores{{"qa_score", opt_num(call->qa_score)},
                {"customer_sentiment", opt_num(call->customer_sentiment)},
                {"agent_talk_ratio", opt_num(call->agent_talk_ratio)}};
    json esc_json = escalations->empty() ? json(nullptr)
                                         : json{{"id", escalations->front().id},
                                                {"reason", escalations->front().reason},
                                                {"severity", severity_name(escalations->front().severity)}};
    to_subscribers("call.analyzed", disc,
                   json{{"call", call_json},
                        {"scores", scores},
                        {"summary", summary},
                        {"categories", categories},
                        {"escalation", esc_json},
                        {"analyses", analyses_json},
                        {"link", link}});
    for (const auto& m : *matches) {
      to_subscribers(
          "category.matched", disc + "/" + std::to_string(m.category_id),
          json{{"call", call_json},
               {"category",
                {{"id", m.category_id}, {"name", cat_names.count(m.category_id) ? cat_names[m.category_id] : ""}}},
               {"spans",
                json::parse(m.spans_json, nullptr, false).is_discarded() ? json::array() : json::parse(m.spans_json)},
               {"link", link}});
    }
    for (const auto& e : *escalations) {
      const std::string severity(severity_name(e.severity));
      const json esc{
          {"id", e.id}, {"reason", e.reason}, {"severity", severity}, {"created_at", queue::format_utc(e.created_at)}};
      to_subscribers("escalation.created", std::to_string(e.id),
                     json{{"call", call_json}, {"escalation", esc}, {"link", link}});
      if (severity_rank(severity) < severity_rank(settings->min_severity)) continue;
      const auto customer = customer_label.empty() ? std::string("unknown customer") : customer_label;
      const auto agent_text = agent_name.empty() ? std::string("unknown agent") : agent_name;
      const auto text = fmt::format("Escalation ({}) on call {}: {}\nCustomer: {}\nAgent: {}\n{}", severity,
                                    call->external_id, e.reason, customer, agent_text, link);
      if (!settings->alert_emails.empty()) {
        json mail{{"to", settings->alert_emails},
                  {"subject", fmt::format("[Earshot] {} escalation: {}", severity, e.reason.substr(0, 120))},
                  {"text", text + "\n"}};
        rows.push_back(NewDelivery{DeliveryChannel::kEmail, 0, call_id, "escalation.created",
                                   event_id(t.bid(), call_id, "alert.email", std::to_string(e.id)), mail.dump()});
      }
      if (!settings->chat_webhook_url.empty()) {
        json chat{{"url", settings->chat_webhook_url},
                  {"body",
                   {{"text", text},
                    {"reason", e.reason},
                    {"severity", severity},
                    {"customer", customer},
                    {"agent", agent_text},
                    {"link", link},
                    {"call_id", call_id}}}};
        rows.push_back(NewDelivery{DeliveryChannel::kChat, 0, call_id, "escalation.created",
                                   event_id(t.bid(), call_id, "alert.chat", std::to_string(e.id)), chat.dump()});
      }
    }
    // CRM write-back to the lead matched by the customer's phone.
    if (settings->crm_writeback && !call->customer_phone_hashed && !call->customer_phone.empty()) {
      auto cfg = d_.configs.get(t);
      const bool leadsquared = cfg && leadsquared_config(*cfg).has_value();
      if (!cfg && cfg.error().code != ErrorCode::kNotFound && cfg.error().code != ErrorCode::kFailedPrecondition) {
        return std::unexpected(cfg.error());
      }
      if (leadsquared) {
        auto lead = d_.leads.find_by_phone(t, call->customer_phone);
        if (!lead) return std::unexpected(lead.error());
        if (*lead) {
          auto num = [](const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v) : std::string(); };
          json activity{
              {"RelatedProspectId", (*lead)->lead_id},
              {"ActivityNote", fmt::format("{}\n{}", summary.empty() ? "Call analyzed." : summary, link)},
              {"ActivityDateTime", leadsquared_time(call->started_at)},
              {"Fields", json::array({{{"SchemaName", "mx_Custom_1"}, {"Value", num(call->qa_score)}},
                                      {{"SchemaName", "mx_Custom_2"}, {"Value", num(call->customer_sentiment)}},
                                      {{"SchemaName", "mx_Custom_3"}, {"Value", link}},
                                      {{"SchemaName", "mx_Custom_4"}, {"Value", call->external_id}}})}};
          rows.push_back(NewDelivery{DeliveryChannel::kCrm, 0, call_id, "call.analyzed",
                                     event_id(t.bid(), call_id, "crm.activity", disc),
                                     json{{"lead_id", (*lead)->lead_id}, {"activity", activity}}.dump()});
        } else {
          log::info("no CRM lead for the customer's phone; nothing written back");
        }
      }
    }
  }

  auto added = d_.deliveries.enqueue(t, rows, storage::to_timestamp(now));
  if (!added) return std::unexpected(added.error());
  for (const auto& r : rows) enqueued_->Add({{"channel", std::string(storage::channel_name(r.channel))}}).Increment();
  if (d_.wake && !rows.empty()) d_.wake();

  if (!failed) {
    auto moved = d_.calls.advance(t, call_id, CallStatus::kAnalyzed, CallStatus::kNotified);
    if (!moved) return std::unexpected(moved.error());
    if (*moved) {
      // A reprocessed call counts from its first creation too.
      const auto took = storage::to_timestamp(now) - call->created_at;
      ingest_to_notified_->Observe(std::max(0.0, std::chrono::duration<double>(took).count()));
    }
    if (*moved && d_.publish_event) {
      d_.publish_event(t.bid(), "call.status",
                       json{{"call_id", call_id}, {"status", "notified"}, {"previous", "analyzed"}});
      bool due = false;
      {
        std::lock_guard lock(counters_mu_);
        auto& at = counters_at_[t.bid()];
        const auto steady = d_.clock.steady_now();
        if (at == std::chrono::steady_clock::time_point{} || steady - at >= std::chrono::seconds(1)) {
          at = steady;
          due = true;
        }
      }
      if (due) {
        // Best effort: a failed count does not fail the call.
        if (auto counts = d_.calls.count_by_status(t); counts) {
          json by_status = json::object();
          for (const auto& [status, n] : *counts) by_status[std::string(storage::status_name(status))] = n;
          d_.publish_event(t.bid(), "pipeline.counters", json{{"counts", by_status}});
        }
      }
    }
  }
  sc.record(storage::EventOutcome::kSucceeded);
  calls_->Add({{"outcome", failed ? "failed_announced" : "notified"}}).Increment();
  log::info("call notified", {{"deliveries", std::to_string(rows.size())}, {"new", std::to_string(*added)}});
  return queue::Outcome{queue::Done{}};
}

}  // namespace earshot::notify

// Pieces shared by the sync jobs: metrics, queue declaration, the lead filter state.
#include <fmt/format.h>

#include <thread>
#include <unordered_set>

#include "earshot/core/log.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/sync/sync.hpp"
#include "sync_internal.hpp"

namespace earshot::sync {

std::string feed_source(std::string_view feed_name) {
  return fmt::format("feed:{}", feed_name);
}

SyncMetrics::SyncMetrics(Metrics& m)
    : synced(&m.counter("earshot_calls_synced_total", "Calls created by the sync worker, by source (db, feed).")),
      rejected(&m.counter("earshot_sync_rows_rejected_total",
                          "Source rows, CRM leads and feed rows refused as malformed, by source.")),
      runs(&m.counter("earshot_sync_runs_total", "Sync passes, by source and result (ok, blocked, error).")),
      blocked(&m.gauge("earshot_sync_lead_filter_blocked",
                       "1 while a business in lead filter mode require has no CRM leads, so no calls sync.")),
      leads(&m.counter("earshot_crm_leads_synced_total", "CRM leads stored or refreshed.")),
      http(&m.counter("earshot_sync_http_requests_total",
                      "HTTP requests of the CRM and feed syncs, by source and status (HTTP code or error).")) {}

TopologyDeclarer::TopologyDeclarer(queue::AmqpSettings amqp, queue::TopologySettings topology)
    : admin_(std::move(amqp), std::move(topology)) {}

Status TopologyDeclarer::ensure(queue::Stage stage, const std::string& bid) {
  std::lock_guard lock(mu_);
  if (done_.contains({stage, bid})) return {};
  // The admin connection may have been dropped while idle (it has no heartbeat thread); it
  // reconnects on the next call, so one failure earns one more try.
  if (auto st = admin_.declare_business(stage, bid); !st) {
    if (auto again = admin_.declare_business(stage, bid); !again) return again;
  }
  done_.insert({stage, bid});
  return {};
}

Result<bool> refresh_lead_filter_state(SyncDeps& d, SyncMetrics& m, const storage::TenantId& t,
                                       storage::LeadFilterMode mode) {
  auto& gauge = m.blocked->Add({{"bid", t.bid()}});
  if (mode != storage::LeadFilterMode::kRequire) {
    gauge.Set(0);
    // Only rewrite a row that said otherwise (a business that never used require has none).
    auto cur = d.watermarks.get(t, kLeadFilterSource);
    if (!cur) return std::unexpected(cur.error());
    if (*cur && !(*cur)->starts_with("ok")) {
      // A stale "blocked" row would tell the business its calls are held back when they are
      // not: a failed rewrite fails the pass (retried) like the require path below.
      if (auto st = d.watermarks.put(t, kLeadFilterSource, "ok: lead filter is not require"); !st) {
        return std::unexpected(st.error());
      }
    }
    return false;
  }
  auto n = d.leads.count(t);
  if (!n) return std::unexpected(n.error());
  const auto leads = *n;
  const bool blocked = leads == 0;
  gauge.Set(blocked ? 1 : 0);
  const std::string state =
      blocked ? std::string(
                    "blocked: lead filter is require and the CRM has no leads, so no calls are synced; "
                    "configure the CRM or change the lead filter mode")
              : fmt::format("ok: lead filter require, {} CRM leads", leads);
  auto cur = d.watermarks.get(t, kLeadFilterSource);
  if (!cur || *cur != state) {  // unreadable, never stored or different
    if (auto st = d.watermarks.put(t, kLeadFilterSource, state); !st) return std::unexpected(st.error());
  }
  if (blocked) log::warn("lead filter require without CRM leads: source sync blocked");
  return blocked;
}

namespace detail {

bool default_sleep(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
  return true;
}

bool pause(const SyncDeps& d, std::chrono::milliseconds ms) {
  if (ms <= std::chrono::milliseconds::zero()) return true;
  return d.sleep ? d.sleep(ms) : default_sleep(ms);
}

Result<std::unordered_map<std::string, UpsertedCall>> upsert_calls(SyncDeps& d, const storage::TenantId& t,
                                                                   std::span<const storage::CallInput> calls) {
  std::unordered_map<std::string, UpsertedCall> out;
  if (calls.empty()) return out;
  if (auto st = d.calls.upsert_batch(t, calls); !st) return std::unexpected(st.error());
  // One read back: every call starts with sync_count 1 and every later upsert adds one, so a
  // call this upsert created is the one still at 1 (no read before the upsert is needed).
  std::vector<std::string> ids;
  ids.reserve(calls.size());
  for (const auto& c : calls) ids.push_back(c.external_id);
  auto after = d.calls.sync_states(t, ids);
  if (!after) return std::unexpected(after.error());
  out.reserve(after->size());
  for (auto& s : *after) {
    out.emplace(std::move(s.external_id),
                UpsertedCall{s.id, std::string(storage::status_name(s.status)), std::move(s.audio_uri),
                             std::move(s.language), s.sync_count == 1});
  }
  return out;
}

Result<std::optional<storage::PipelineConfig>> load_config(SyncDeps& d, const storage::TenantId& t, SyncReport& rep) {
  auto config = d.configs.get(t);
  if (config) return std::optional<storage::PipelineConfig>(std::move(*config));
  if (config.error().code != ErrorCode::kNotFound) return std::unexpected(config.error());
  rep.configured = false;
  rep.note = "no pipeline config";
  return std::optional<storage::PipelineConfig>();
}

queue::OutgoingMessage transcribe_message(const queue::TopologySettings& topo, const std::string& bid,
                                          storage::Id call_id, const std::string& audio_uri,
                                          const std::string& language) {
  return queue::make_stage_message(topo, queue::TranscribeRequest::for_call(bid, call_id, audio_uri, 0, language));
}

queue::OutgoingMessage analyze_message(const queue::TopologySettings& topo, const std::string& bid,
                                       storage::Id call_id) {
  return queue::make_stage_message(topo, queue::AnalyzeRequest::for_call(bid, call_id));
}

}  // namespace detail
}  // namespace earshot::sync

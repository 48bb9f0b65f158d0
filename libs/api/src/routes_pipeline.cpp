// /api/v1/pipeline/status: where the caller's calls are in the pipeline, and which of its
// providers fail.
#include "earshot/api/gateway.hpp"
#include "earshot/queue/topology.hpp"
#include "route_util.hpp"

namespace earshot::api {

namespace {
constexpr int kRecentFailures = 20;  // failed calls shown
}  // namespace

// The status's counts, watermarks and failures come from the read replica when there is one
// (docs/storage.md, "Read replica").
void add_pipeline_routes(Router& router, GatewayServices& s) {
  Policy read;
  read.api_key_scope = "read";
  router.add("GET", "/api/v1/pipeline/status", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    const auto t = detail::tenant_of(req.caller_bid());
    auto counts = read_repos_of(s).calls.count_by_status(t);
    if (!counts) return std::unexpected(counts.error());
    Json by_status = Json::object();
    for (auto st : {storage::CallStatus::kPending, storage::CallStatus::kTranscribing,
                    storage::CallStatus::kTranscribed, storage::CallStatus::kAnalyzing, storage::CallStatus::kAnalyzed,
                    storage::CallStatus::kNotified, storage::CallStatus::kFailed}) {
      by_status[std::string(storage::status_name(st))] = 0;
    }
    for (const auto& [st, n] : *counts) by_status[std::string(storage::status_name(st))] = n;
    auto marks = read_repos_of(s).pipeline_status.watermarks(t);
    if (!marks) return std::unexpected(marks.error());
    Json watermarks = Json::array();
    for (const auto& m : *marks) {
      watermarks.push_back({{"source", m.source}, {"position", m.position}, {"updated_at", detail::iso(m.updated_at)}});
    }
    auto fails = read_repos_of(s).pipeline_status.recent_failures(t, kRecentFailures);
    if (!fails) return std::unexpected(fails.error());
    Json failures = Json::array();
    for (const auto& f : *fails) {
      failures.push_back({{"id", f.id},
                          {"external_id", f.external_id},
                          {"stage", f.stage},
                          {"reason", f.reason},
                          {"attempts", f.attempts},
                          {"failed_at", detail::iso(f.failed_at)}});
    }
    // Broker trouble degrades this part of the answer, not the whole status.
    Json queues = Json::array();
    for (auto stage : queue::kAllStages) {
      const auto work = queue::work_queue(stage, t.bid());
      const auto dead = queue::dead_letter_queue(stage, t.bid());
      auto depth = s.queues.queue_depth(work);
      auto dlq = s.queues.queue_depth(dead);
      Json q{{"stage", queue::stage_name(stage)},
             {"queue", work},
             {"depth", depth ? Json(*depth) : Json(nullptr)},
             {"dead_letter_queue", dead},
             {"dead_letters", dlq ? Json(*dlq) : Json(nullptr)}};
      if (!depth) q["error"] = std::string(code_name(depth.error().code));
      queues.push_back(q);
    }
    Json out{
        {"calls_by_status", by_status}, {"watermarks", watermarks}, {"queues", queues}, {"recent_failures", failures}};
    // Provider errors come from Redis: trouble there degrades this part only, as with queues.
    Json provider_errors = Json::array();
    if (s.provider_errors == nullptr) {
      out["provider_errors_error"] = "not configured";
    } else if (auto rows = s.provider_errors->summary(t.bid()); !rows) {
      out["provider_errors_error"] = std::string(code_name(rows.error().code));
    } else {
      for (const auto& r : *rows) {
        provider_errors.push_back(
            {{"kind", r.kind},
             {"provider", r.provider},
             {"status", r.status},
             {"count_1h", r.count_1h},
             {"count_24h", r.count_24h},
             {"last_at", r.last_at == std::chrono::system_clock::time_point{}
                             ? Json(nullptr)
                             : Json(detail::iso(std::chrono::time_point_cast<std::chrono::milliseconds>(r.last_at)))},
             {"last_message", r.last_message}});
      }
    }
    out["provider_errors"] = std::move(provider_errors);
    return Reply::ok(std::move(out));
  });
}

}  // namespace earshot::api

// /api/v1/pipeline/status: where the caller's calls are in the pipeline.
#include "earshot/api/gateway.hpp"
#include "earshot/queue/topology.hpp"
#include "route_util.hpp"

namespace earshot::api {

void add_pipeline_routes(Router& router, GatewayServices& s) {
  Policy read;
  read.api_key_scope = "read";
  router.add("GET", "/api/v1/pipeline/status", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    const auto t = detail::tenant_of(req.caller_bid());
    const storage::Value bid(t.bid());
    auto counts = s.db.execute("SELECT status, COUNT(*) FROM call_records WHERE bid = ? GROUP BY status", {bid});
    if (!counts) return std::unexpected(counts.error());
    Json by_status = Json::object();
    for (auto st : {storage::CallStatus::kPending, storage::CallStatus::kTranscribing,
                    storage::CallStatus::kTranscribed, storage::CallStatus::kAnalyzing, storage::CallStatus::kAnalyzed,
                    storage::CallStatus::kNotified, storage::CallStatus::kFailed}) {
      by_status[std::string(storage::status_name(st))] = 0;
    }
    for (const auto& r : counts->rows) by_status[r[0].as_string()] = r[1].as_int();
    auto marks =
        s.db.execute("SELECT source, position, updated_at FROM sync_watermarks WHERE bid = ? ORDER BY source", {bid});
    if (!marks) return std::unexpected(marks.error());
    Json watermarks = Json::array();
    for (const auto& r : marks->rows) {
      watermarks.push_back(
          {{"source", r[0].as_string()}, {"position", r[1].as_string()}, {"updated_at", detail::iso(r[2].as_time())}});
    }
    auto fails = s.db.execute(
        "SELECT id, external_id, failed_stage, failed_reason, attempts, status_changed_at FROM call_records "
        "WHERE bid = ? AND status = 'failed' ORDER BY status_changed_at DESC, id DESC LIMIT 20",
        {bid});
    if (!fails) return std::unexpected(fails.error());
    Json failures = Json::array();
    for (const auto& r : fails->rows) {
      failures.push_back({{"id", r[0].as_int()},
                          {"external_id", r[1].as_string()},
                          {"stage", r[2].as_string()},
                          {"reason", r[3].as_string()},
                          {"attempts", r[4].as_int()},
                          {"failed_at", detail::iso(r[5].as_time())}});
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
    return Reply::ok(Json{
        {"calls_by_status", by_status}, {"watermarks", watermarks}, {"queues", queues}, {"recent_failures", failures}});
  });
}

}  // namespace earshot::api

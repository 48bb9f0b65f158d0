#include "earshot/storage/stage_call.hpp"

#include <fmt/format.h>

#include <charconv>

namespace earshot::storage {

StageCall::StageCall(const Message& m, TenantId tenant, Id call_id, std::string call_text, Deps deps)
    : stage_(m.stage),
      tenant_(std::move(tenant)),
      call_id_(call_id),
      call_text_(std::move(call_text)),
      attempt_(m.attempt),
      received_(m.received),
      d_(deps) {}

Result<StageCall> StageCall::parse(const Message& m, std::string text, Deps deps) {
  Id id = 0;
  if (auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
      ec != std::errc() || p != text.data() + text.size() || id <= 0) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("call_id '{}' is not a call id", text));
  }
  auto tenant = TenantId::make(m.bid);
  if (!tenant) return make_error(ErrorCode::kInvalidArgument, tenant.error().message);
  return StageCall(m, std::move(*tenant), id, std::move(text), deps);
}

log::Context StageCall::log_context(std::string trace_id) const {
  return {.bid = tenant_.bid(), .call_id = call_text_, .trace_id = std::move(trace_id)};
}

Result<CallRecord> StageCall::load() const {
  auto call = d_.calls->get(tenant_, call_id_);
  if (!call && call.error().code == ErrorCode::kNotFound) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("call {} does not exist for business {}", call_id_, tenant_.bid()));
  }
  return call;
}

ProcessingEvent StageCall::event(EventOutcome outcome, std::string error) const {
  ProcessingEvent e;
  e.call_id = call_id_;
  e.stage = stage_;
  e.outcome = outcome;
  e.attempt = attempt_;
  e.error = std::move(error);
  e.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(d_.clock->steady_now() - received_).count();
  e.created_at = to_timestamp(d_.clock->now());
  return e;
}

void StageCall::record(EventOutcome outcome, std::string error) const {
  if (auto st = d_.events->append(tenant_, event(outcome, std::move(error))); !st) {
    log::warn("processing event not recorded", {{"error", st.error().to_string()}});
  }
}

Result<bool> StageCall::fail(const Error& e) const {
  auto marked = d_.calls->mark_failed(tenant_, call_id_, stage_, e.message);
  if (!marked) return marked;
  record(EventOutcome::kFailed, e.to_string());
  log::warn("call failed", {{"stage", stage_}, {"reason", e.message}});
  return marked;
}

}  // namespace earshot::storage

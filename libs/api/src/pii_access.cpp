#include "pii_access.hpp"

#include "earshot/pipeline/redaction.hpp"
#include "route_util.hpp"

namespace earshot::api::detail {

bool may_read_pii(const Principal& p) {
  switch (p.kind) {
    case Principal::Kind::kPlatformAdmin:
      return true;
    case Principal::Kind::kUser:
      return p.role == Role::kAdmin || p.role == Role::kPlatformAdmin;
    case Principal::Kind::kApiKey:
    case Principal::Kind::kSignedLink:
      return p.has_scope(kPiiReadScope);
  }
  return false;
}

Result<bool> must_redact(GatewayServices& s, const Request& req) {
  if (!req.principal || may_read_pii(*req.principal)) return false;
  auto cfg = s.repos.pipeline_configs.get(tenant_of(req.caller_bid()));
  if (cfg) return cfg->redact_pii;
  switch (cfg.error().code) {
    case ErrorCode::kNotFound:
      return storage::PipelineConfig{}.redact_pii;
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kInvalidArgument:
      return true;
    default:
      return std::unexpected(cfg.error());
  }
}

std::string redacted_segments(const storage::Transcript& tr) {
  if (tr.redacted_segments_json) return *tr.redacted_segments_json;
  return pipeline::redact_transcript(tr.segments_json).segments_json;
}

void redact_strings(Json& j) {
  if (j.is_string()) {
    j = pipeline::redact_text(j.get_ref<const std::string&>());
  } else if (j.is_structured()) {
    for (auto& v : j) redact_strings(v);
  }
}

std::string redact_json_text(const std::string& text) {
  Json j = parsed(text);
  redact_strings(j);
  return j.dump();
}

}  // namespace earshot::api::detail

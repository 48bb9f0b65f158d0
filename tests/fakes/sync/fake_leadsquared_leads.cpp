#include <nlohmann/json.hpp>

#include "fakes/sync/fake_sync_providers.hpp"

namespace earshot::testing {
namespace {
using Json = nlohmann::json;

std::string lsq_error(const std::string& type, const std::string& message) {
  return Json{{"Status", "Error"}, {"ExceptionType", type}, {"ExceptionMessage", message}}.dump();
}
}  // namespace

FakeLeadSquaredLeads::FakeLeadSquaredLeads(Options options) : FakeProviderServer(std::move(options)) {}

void FakeLeadSquaredLeads::add_lead(const std::string& id, const std::string& phone, const std::string& modified_on,
                                    const std::string& first_name) {
  add_raw_lead(Json{{"ProspectID", id},
                    {"FirstName", first_name},
                    {"LastName", "Example"},
                    {"Phone", phone},
                    {"EmailAddress", id + "@example.com"},
                    {"ModifiedOn", modified_on}}
                   .dump());
}

void FakeLeadSquaredLeads::add_raw_lead(std::string json) {
  std::lock_guard lock(leads_mu_);
  leads_.push_back(std::move(json));
}

std::vector<std::string> FakeLeadSquaredLeads::bodies() const {
  std::lock_guard lock(leads_mu_);
  return bodies_;
}

FakeProviderServer::Reply FakeLeadSquaredLeads::failure_reply(FailureKind kind) const {
  switch (kind) {
    case FailureKind::kRateLimit:
    case FailureKind::kQuota:
      return {429, lsq_error("MXAPIRateLimitExceededException", "API calls exceeded the limit")};
    case FailureKind::kServerError:
      return {500, lsq_error("MXInternalServerException", "An internal error occurred")};
    case FailureKind::kUnavailable:
      return {503, "<html><body>Service Unavailable</body></html>", "text/html"};
    case FailureKind::kAuth:
      return {401, lsq_error("MXUnAuthorizedAccessException", "Invalid access key or secret key")};
    case FailureKind::kInvalidInput:
      return {400, lsq_error("MXInvalidInputException", "Invalid lookup")};
  }
  return {500, "{}"};
}

void FakeLeadSquaredLeads::routes() {
  server().Post("/v2/LeadManagement.svc/Leads.Get", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    {
      // The provider's own limit: 25 calls per 5 s per account.
      std::lock_guard lock(leads_mu_);
      const auto now = std::chrono::steady_clock::now();
      while (!window_.empty() && window_.front() + std::chrono::seconds(5) <= now) window_.pop_front();
      if (window_.size() >= 25) {
        ++limit_hits_;
        reply(res, failure_reply(FailureKind::kRateLimit));
        return;
      }
      window_.push_back(now);
      bodies_.push_back(req.body);
    }
    if (req.get_param_value("accessKey") != kAccessKey || req.get_param_value("secretKey") != kSecretKey) {
      reply(res, failure_reply(FailureKind::kAuth));
      return;
    }
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("Parameter") || !body.contains("Paging")) {
      reply(res, {400, lsq_error("MXInvalidInputException", "Invalid request body")});
      return;
    }
    const auto& param = body["Parameter"];
    const auto& paging = body["Paging"];
    if (param.value("LookupName", "") != "ModifiedOn" || !paging.contains("PageIndex") ||
        !paging["PageIndex"].is_number_integer() || !paging.contains("PageSize") ||
        !paging["PageSize"].is_number_integer()) {
      reply(res, {400, lsq_error("MXInvalidInputException", "Unsupported lookup or paging")});
      return;
    }
    const std::string since = param.value("LookupValue", "");
    const std::string op = param.value("SqlOperator", "=");
    const auto page = paging["PageIndex"].get<long>();
    const auto size = paging["PageSize"].get<long>();
    if (page < 1 || size < 1 || size > 1000) {
      reply(res, {400, lsq_error("MXInvalidInputException", "PageIndex starts at 1; PageSize 1-1000")});
      return;
    }
    std::vector<Json> matching;
    {
      std::lock_guard lock(leads_mu_);
      for (const auto& text : leads_) {
        auto lead = Json::parse(text, nullptr, false);
        std::string modified;
        if (lead.is_object() && lead.contains("ModifiedOn") && lead["ModifiedOn"].is_string()) {
          modified = lead["ModifiedOn"].get<std::string>();
        }
        // Malformed leads are still returned (they are what the client must cope with).
        const bool keep = modified.empty() || (op == ">" ? modified > since : modified >= since);
        if (keep) matching.push_back(lead.is_discarded() ? Json(text) : lead);
      }
    }
    std::stable_sort(matching.begin(), matching.end(), [](const Json& a, const Json& b) {
      auto m = [](const Json& j) {
        return j.is_object() && j.contains("ModifiedOn") && j["ModifiedOn"].is_string()
                   ? j["ModifiedOn"].get<std::string>()
                   : std::string();
      };
      return m(a) < m(b);
    });
    Json leads = Json::array();
    const auto from = static_cast<std::size_t>((page - 1) * size);
    for (std::size_t i = from; i < matching.size() && i < from + static_cast<std::size_t>(size); ++i) {
      leads.push_back(matching[i]);
    }
    if (object_shape_) {
      reply(res, {200, Json{{"RecordCount", matching.size()}, {"Leads", leads}}.dump()});
    } else {
      reply(res, {200, leads.dump()});
    }
  });
}

}  // namespace earshot::testing

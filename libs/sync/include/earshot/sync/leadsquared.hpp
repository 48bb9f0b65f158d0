#pragma once
// LeadSquared lead search (the shared providers document): POST
// {base}/v2/LeadManagement.svc/Leads.Get?accessKey=..&secretKey=.. with a ModifiedOn lookup,
// sorted by ModifiedOn ascending, paged by PageIndex (1-based). The response is a bare array
// of leads or {"RecordCount", "Leads": [..]}; both are accepted.
// Errors: 429 -> kRateLimited (retry_after when given), 5xx -> kUnavailable, transport
// timeouts -> kTimeout, 401 -> kUnauthenticated, other 4xx -> kInvalidArgument with the
// provider's ExceptionMessage; a body that is neither shape -> kInvalidArgument.

#include <chrono>
#include <string>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/sync/sync_config.hpp"

namespace earshot::sync {

struct LsqLeadPage {
  std::vector<std::string> leads;  // each lead object as JSON text
  std::optional<std::int64_t> record_count;
};

[[nodiscard]] Result<LsqLeadPage> parse_leads_response(std::string_view body);
// "YYYY-MM-DD HH:MM:SS" (also with 'T', fractional seconds or a trailing 'Z'), UTC.
[[nodiscard]] Result<storage::Timestamp> parse_lsq_time(std::string_view text);
[[nodiscard]] std::string format_lsq_time(storage::Timestamp t);

// One Leads.Get request (no retries, no throttling: the caller does both).
[[nodiscard]] Result<LsqLeadPage> fetch_leads_page(http::HttpClient& client, const CrmConfig& crm,
                                                   std::string_view modified_since, int page_index, int* http_status,
                                                   const Clock& clock);

}  // namespace earshot::sync

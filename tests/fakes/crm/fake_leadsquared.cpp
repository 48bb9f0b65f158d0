#include "fakes/crm/fake_leadsquared.hpp"

#include <regex>

#include "support/process.hpp"

namespace earshot::testing {
namespace {

nlohmann::json error_body(const std::string& type, const std::string& message) {
  return {{"Status", "Error"}, {"ExceptionType", type}, {"ExceptionMessage", message}};
}

}  // namespace

FakeLeadSquared::FakeLeadSquared(std::string access_key, std::string secret_key)
    : access_key_(std::move(access_key)), secret_key_(std::move(secret_key)) {
  server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
  auto guard = [this](const httplib::Request& req, httplib::Response& res) -> bool {
    std::lock_guard lock(mu_);
    ++requests_;
    const auto now = std::chrono::steady_clock::now();
    if (req.get_param_value("accessKey") != access_key_ || req.get_param_value("secretKey") != secret_key_) {
      res.status = 401;
      res.set_content(error_body("MXInvalidAPIAccessKeyException", "Invalid API Access Key").dump(),
                      "application/json");
      return false;
    }
    while (!window_.empty() && now - window_.front() >= std::chrono::seconds(5)) window_.pop_front();
    if (window_.size() >= 25) {
      ++rate_limited_;
      res.status = 429;
      res.set_content(error_body("MXAPIRateLimitExceededException", "API calls exceeded the limit").dump(),
                      "application/json");
      return false;
    }
    window_.push_back(now);
    all_.push_back(now);
    if (fail_n_ > 0) {
      --fail_n_;
      res.status = fail_status_;
      res.set_content(error_body("MXUnknownException", "internal error").dump(), "application/json");
      return false;
    }
    return true;
  };
  server_.Post("/v2/ProspectActivity.svc/Create", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto b = nlohmann::json::parse(req.body, nullptr, false);
    static const std::regex kDate(R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$)");
    auto bad = [&](const std::string& m) {
      res.status = 400;
      res.set_content(error_body("MXInvalidInputException", m).dump(), "application/json");
    };
    if (!b.is_object() || !b.contains("RelatedProspectId") || !b["RelatedProspectId"].is_string())
      return bad("RelatedProspectId is required");
    if (!b.contains("ActivityEvent") || !b["ActivityEvent"].is_number_integer())
      return bad("ActivityEvent must be a number");
    if (!b.contains("ActivityDateTime") || !b["ActivityDateTime"].is_string() ||
        !std::regex_match(b["ActivityDateTime"].get<std::string>(), kDate)) {
      return bad("ActivityDateTime must be yyyy-MM-dd HH:mm:ss");
    }
    if (b.contains("ActivityNote") && !b["ActivityNote"].is_string()) return bad("ActivityNote must be a string");
    if (b.contains("Fields")) {
      if (!b["Fields"].is_array()) return bad("Fields must be a list");
      for (const auto& f : b["Fields"]) {
        if (!f.is_object() || !f.contains("SchemaName") || !f["SchemaName"].is_string() || !f.contains("Value")) {
          return bad("Fields need SchemaName and Value");
        }
      }
    }
    std::lock_guard lock(mu_);
    const auto lead = b["RelatedProspectId"].get<std::string>();
    if (!leads_.count(lead)) {
      res.status = 400;
      res.set_content(error_body("MXInvalidInputException", "Lead does not exist").dump(), "application/json");
      return;
    }
    activities_.push_back(b);
    by_lead_[lead].push_back(b);
    const auto id = "act-" + std::to_string(activities_.size());
    res.set_content(nlohmann::json{{"Status", "Success"}, {"Message", {{"Id", id}}}}.dump(), "application/json");
  });
  server_.Post("/v2/ProspectActivity.svc/Retrieve", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    std::lock_guard lock(mu_);
    const auto lead = req.get_param_value("leadId");
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : by_lead_[lead]) {
      list.push_back({{"Id", "x"},
                      {"EventCode", a["ActivityEvent"]},
                      {"EventName", "Earshot call"},
                      {"CreatedOn", a["ActivityDateTime"]},
                      {"Data", a.value("Fields", nlohmann::json::array())}});
    }
    res.set_content(nlohmann::json{{"RecordCount", list.size()}, {"ProspectActivities", list}}.dump(),
                    "application/json");
  });
}

FakeLeadSquared::~FakeLeadSquared() {
  stop();
}

bool FakeLeadSquared::start() {
  // Port 0: the kernel picks the port and the socket stays bound, so nothing else can take
  // it between choosing and listening.
  const int port = server_.bind_to_any_port("127.0.0.1");
  if (port <= 0) return false;
  port_ = port;
  return start_accept_loop(server_, thread_, port);
}

void FakeLeadSquared::stop() {
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

void FakeLeadSquared::add_lead(const std::string& id) {
  std::lock_guard lock(mu_);
  leads_.insert(id);
}
void FakeLeadSquared::fail_next(int n, int status) {
  std::lock_guard lock(mu_);
  fail_n_ = n;
  fail_status_ = status;
}
std::vector<nlohmann::json> FakeLeadSquared::activities() const {
  std::lock_guard lock(mu_);
  return activities_;
}
int FakeLeadSquared::rate_limited() const {
  std::lock_guard lock(mu_);
  return rate_limited_;
}
int FakeLeadSquared::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}
int FakeLeadSquared::max_in_window() const {
  std::lock_guard lock(mu_);
  int best = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < all_.size(); ++i) {
    while (all_[i] - all_[j] >= std::chrono::seconds(5)) ++j;
    best = std::max(best, static_cast<int>(i - j + 1));
  }
  return best;
}

}  // namespace earshot::testing

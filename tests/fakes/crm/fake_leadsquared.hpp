#pragma once
// A fake LeadSquared API on 127.0.0.1 speaking its wire format (shared providers document):
// auth as query parameters accessKey / secretKey (401 {"Status":"Error","ExceptionType":
// "MXInvalidAPIAccessKeyException",...} otherwise), 25 calls per 5 s per access key (429 "API
// calls exceeded the limit" beyond), error bodies {"Status":"Error","ExceptionType",
// "ExceptionMessage"}. Serves activity creation
//   POST /v2/ProspectActivity.svc/Create  {"RelatedProspectId", "ActivityEvent", "ActivityNote",
//        "ActivityDateTime": "YYYY-MM-DD HH:MM:SS", "Fields": [{"SchemaName", "Value"}]}
//   -> 200 {"Status":"Success","Message":{"Id":"<activity id>"}}
// (400 for a malformed body or unknown lead) and activity retrieval
//   POST /v2/ProspectActivity.svc/Retrieve?leadId=ID -> {"RecordCount","ProspectActivities"}.
#include <httplib.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace earshot::testing {

class FakeLeadSquared {
 public:
  FakeLeadSquared(std::string access_key, std::string secret_key);
  ~FakeLeadSquared();
  FakeLeadSquared(const FakeLeadSquared&) = delete;
  FakeLeadSquared& operator=(const FakeLeadSquared&) = delete;

  bool start();
  void stop();
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void add_lead(const std::string& prospect_id);
  void fail_next(int n, int status);  // 500 / 503 ... with the error body

  [[nodiscard]] std::vector<nlohmann::json> activities() const;  // accepted bodies, in order
  [[nodiscard]] int rate_limited() const;                        // 429 answers
  [[nodiscard]] int requests() const;
  // Largest number of requests seen in any 5 s window.
  [[nodiscard]] int max_in_window() const;

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::string access_key_;
  std::string secret_key_;
  mutable std::mutex mu_;
  std::set<std::string> leads_;
  std::vector<nlohmann::json> activities_;
  std::map<std::string, std::vector<nlohmann::json>> by_lead_;
  std::deque<std::chrono::steady_clock::time_point> window_;
  std::vector<std::chrono::steady_clock::time_point> all_;
  int rate_limited_ = 0;
  int requests_ = 0;
  int fail_n_ = 0;
  int fail_status_ = 500;
};

}  // namespace earshot::testing

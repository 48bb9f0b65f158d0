#pragma once
// Fakes of the providers the sync worker pulls from, on loopback HTTP (FakeProviderServer:
// failure plans, latency, never-answer, request log), in the exact wire formats of the shared
// providers document.

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "fakes/stt/fake_server.hpp"

namespace earshot::testing {

// LeadSquared lead retrieval (the CRM lead sync; the write-back fake is tests/fakes/crm):
// POST /v2/LeadManagement.svc/Leads.Get?accessKey=..&secretKey=.. with a
// ModifiedOn lookup (>=, >), sorted by ModifiedOn, paged by PageIndex/PageSize. Answers a
// bare array of leads or {"RecordCount", "Leads"} (set_object_shape). Enforces the real
// limit of 25 requests per 5 s itself: the 26th answers 429 "API calls exceeded the limit"
// and is counted (limit_hits()).
class FakeLeadSquaredLeads final : public FakeProviderServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeLeadSquaredLeads() override { stop(); }
  explicit FakeLeadSquaredLeads(Options options = {});
  static constexpr const char* kAccessKey = "lsq-access";
  static constexpr const char* kSecretKey = "lsq-secret";
  // A lead as LeadSquared sends it.
  void add_lead(const std::string& id, const std::string& phone, const std::string& modified_on,
                const std::string& first_name = "Lead");
  void add_raw_lead(std::string json);  // anything, e.g. a malformed lead
  void set_object_shape(bool on) { object_shape_ = on; }
  [[nodiscard]] int limit_hits() const { return limit_hits_.load(); }
  [[nodiscard]] std::vector<std::string> bodies() const;  // request bodies received

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;

 private:
  mutable std::mutex leads_mu_;
  std::vector<std::string> leads_;  // JSON objects
  std::vector<std::string> bodies_;
  std::deque<std::chrono::steady_clock::time_point> window_;
  std::atomic<bool> object_shape_{false};
  std::atomic<int> limit_hits_{0};
};

// HuggingFace datasets-server: GET /rows?dataset=OWNER%2FNAME&config=..&split=..&offset=N
// &limit=M (M <= 100, else 422) answering {"features", "rows": [{"row_idx", "row",
// "truncated_cells"}], "num_rows_total", "num_rows_per_page", "partial"}, or the flattened
// {"rows": [{..}], "total", "limit", "offset"} (set_flat_shape). Unknown dataset: 404.
class FakeHfRows final : public FakeProviderServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeHfRows() override { stop(); }
  explicit FakeHfRows(std::string dataset, Options options = {});
  void add_row(std::string row_json);  // the row's columns as a JSON object (or anything)
  void set_flat_shape(bool on) { flat_ = on; }
  // The next `n` requests wait `d` before answering (a client deadline shorter than d
  // times out).
  void delay_next(int n, std::chrono::milliseconds d);
  // Offsets requested, in order.
  [[nodiscard]] std::vector<long> offsets() const;

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;

 private:
  std::string dataset_;
  mutable std::mutex rows_mu_;
  std::vector<std::string> rows_;
  std::vector<long> offsets_;
  int delayed_ = 0;
  std::chrono::milliseconds delay_{0};
  std::atomic<bool> flat_{false};
};

}  // namespace earshot::testing

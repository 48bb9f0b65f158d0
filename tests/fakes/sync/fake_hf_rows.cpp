#include <nlohmann/json.hpp>

#include "fakes/sync/fake_sync_providers.hpp"

namespace earshot::testing {
namespace {
using Json = nlohmann::json;
}  // namespace

FakeHfRows::FakeHfRows(std::string dataset, Options options)
    : FakeProviderServer(std::move(options)), dataset_(std::move(dataset)) {}

void FakeHfRows::add_row(std::string row_json) {
  std::lock_guard lock(rows_mu_);
  rows_.push_back(std::move(row_json));
}

void FakeHfRows::delay_next(int n, std::chrono::milliseconds d) {
  std::lock_guard lock(rows_mu_);
  delayed_ = n;
  delay_ = d;
}

std::vector<long> FakeHfRows::offsets() const {
  std::lock_guard lock(rows_mu_);
  return offsets_;
}

FakeProviderServer::Reply FakeHfRows::failure_reply(FailureKind kind) const {
  switch (kind) {
    case FailureKind::kRateLimit:
    case FailureKind::kQuota:
      return {429, R"({"error":"Too Many Requests"})"};
    case FailureKind::kServerError:
      return {500, R"({"error":"Unexpected error."})"};
    case FailureKind::kUnavailable:
      return {503, R"({"error":"The server is busy."})"};
    case FailureKind::kAuth:
      return {401, R"({"error":"The dataset does not exist, or is not accessible without authentication."})"};
    case FailureKind::kInvalidInput:
      return {422, R"({"error":"Parameter 'offset' must be positive"})"};
  }
  return {500, "{}"};
}

void FakeHfRows::routes() {
  server().Get("/rows", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    std::chrono::milliseconds wait{0};
    {
      std::lock_guard lock(rows_mu_);
      if (delayed_ > 0) {
        --delayed_;
        wait = delay_;
      }
    }
    if (wait.count() > 0) pause(wait);
    if (req.get_param_value("dataset") != dataset_) {
      reply(res, {404, R"({"error":"The dataset does not exist."})"});
      return;
    }
    if (req.get_param_value("config").empty() || req.get_param_value("split").empty()) {
      reply(res, {422, R"({"error":"Parameters 'config' and 'split' are required"})"});
      return;
    }
    long offset = 0, limit = 100;
    try {
      offset = std::stol(req.get_param_value("offset"));
      limit = req.has_param("limit") ? std::stol(req.get_param_value("limit")) : 100;
    } catch (...) {
      reply(res, failure_reply(FailureKind::kInvalidInput));
      return;
    }
    if (offset < 0 || limit < 0 || limit > 100) {
      reply(res, {422, R"({"error":"Parameter 'limit' must be between 0 and 100"})"});
      return;
    }
    Json rows = Json::array();
    std::size_t total = 0;
    {
      std::lock_guard lock(rows_mu_);
      offsets_.push_back(offset);
      total = rows_.size();
      for (auto i = static_cast<std::size_t>(offset); i < rows_.size() && i < static_cast<std::size_t>(offset + limit);
           ++i) {
        auto row = Json::parse(rows_[i], nullptr, false);
        if (row.is_discarded()) row = rows_[i];
        if (flat_) {
          rows.push_back(row);
        } else {
          rows.push_back({{"row_idx", i}, {"row", row}, {"truncated_cells", Json::array()}});
        }
      }
    }
    Json body;
    if (flat_) {
      body = {{"rows", rows}, {"total", total}, {"limit", limit}, {"offset", offset}};
    } else {
      body = {{"features",
               Json::array(
                   {{{"feature_idx", 0}, {"name", "input"}, {"type", {{"dtype", "string"}, {"_type", "Value"}}}},
                    {{"feature_idx", 1}, {"name", "output"}, {"type", {{"dtype", "string"}, {"_type", "Value"}}}}})},
              {"rows", rows},
              {"num_rows_total", total},
              {"num_rows_per_page", 100},
              {"partial", false}};
    }
    reply(res, {200, body.dump()});
  });
}

}  // namespace earshot::testing

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fakes/stt/fake_providers.hpp"

namespace earshot::testing {

using nlohmann::json;

namespace {

json error_json(const std::string& code, const std::string& message) {
  return {{"error", {{"message", message}, {"code", code}}}};
}

std::string speaker_id(int s) {
  return fmt::format("SPEAKER_{:02d}", s);
}

json transcript_json(const std::vector<FakeUtterance>& script, bool diarize, std::optional<int> channel, bool translate,
                     const std::string& language_code) {
  std::string text;
  json words = json::array();
  json starts = json::array();
  json ends = json::array();
  json entries = json::array();
  for (const auto& u : script) {
    if (channel && u.channel != *channel) continue;
    const std::string& said = translate && !u.english.empty() ? u.english : u.text;
    if (!text.empty()) text += " ";
    text += said;
    words.push_back(said);
    starts.push_back(u.start_s);
    ends.push_back(u.end_s);
    entries.push_back({{"transcript", said},
                       {"start_time_seconds", u.start_s},
                       {"end_time_seconds", u.end_s},
                       {"speaker_id", speaker_id(u.speaker)}});
  }
  json out = {{"request_id", "req-fake"},
              {"transcript", text},
              {"language_code", language_code},
              {"language_probability", 0.98},
              {"timestamps", {{"words", words}, {"start_time_seconds", starts}, {"end_time_seconds", ends}}}};
  out["diarized_transcript"] = diarize ? json{{"entries", entries}} : json(nullptr);
  return out;
}

bool key_ok(const httplib::Request& req, const std::string& key) {
  return req.get_header_value("api-subscription-key") == key;
}

}  // namespace

FakeProviderServer::Reply FakeSarvam::failure_reply(FailureKind kind) const {
  switch (kind) {
    case FailureKind::kRateLimit:
      return {429, error_json("rate_limit_exceeded_error", "Rate limit exceeded").dump()};
    case FailureKind::kServerError:
      return {500, error_json("internal_server_error", "Internal server error").dump()};
    case FailureKind::kUnavailable:
      return {503, error_json("rate_limit_exceeded_error", "Service overloaded").dump()};
    case FailureKind::kAuth:
      return {403, error_json("invalid_api_key_error", "Invalid API key").dump()};
    case FailureKind::kQuota:
      return {429, error_json("insufficient_quota_error", "No credits left").dump()};
    case FailureKind::kInvalidInput:
      return {400, error_json("invalid_request_error", "Invalid audio file").dump()};
  }
  return {500, "{}"};
}

std::string FakeSarvam::last_upload() const {
  std::lock_guard lock(jobs_mu_);
  auto it = jobs_.find(last_job_);
  return it == jobs_.end() ? std::string() : it->second.upload;
}

std::string FakeSarvam::last_job_parameters() const {
  std::lock_guard lock(jobs_mu_);
  auto it = jobs_.find(last_job_);
  return it == jobs_.end() ? std::string() : it->second.params;
}

void FakeSarvam::routes() {
  auto& s = server();
  const std::string base = "/speech-to-text/job/v1";

  s.Post("/speech-to-text", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (!key_ok(req, api_key())) return reply(res, failure_reply(FailureKind::kAuth));
    if (!req.has_file("file") || req.get_file_value("file").content.empty() || !req.has_file("model") ||
        !req.has_file("language_code")) {
      return reply(res,
                   {400, error_json("invalid_request_error", "file, model and language_code are required").dump()});
    }
    const std::string mode = req.has_file("mode") ? req.get_file_value("mode").content : "";
    const std::string model = req.get_file_value("model").content;
    if (!mode.empty() && !model.starts_with("saaras:v3")) {
      return reply(res, {400, error_json("invalid_request_error", "mode is only supported by saaras:v3").dump()});
    }
    if (malformed()) return reply(res, {200, "{\"request_id\": \"x\", \"transcript\": [1,", "application/json"});
    const auto channel = marked_channel(req.get_file_value("file").content);
    reply(res, {200, transcript_json(script(), false, channel, mode == "translate", language_code()).dump()});
  });

  s.Post("/speech-to-text-translate", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (!key_ok(req, api_key())) return reply(res, failure_reply(FailureKind::kAuth));
    if (!req.has_file("file") || req.get_file_value("file").content.empty()) {
      return reply(res, {400, error_json("invalid_request_error", "file is required").dump()});
    }
    if (req.has_file("model") && !req.get_file_value("model").content.starts_with("saaras:")) {
      return reply(res, {400, error_json("invalid_request_error", "model must be a saaras model").dump()});
    }
    if (malformed()) return reply(res, {200, "{\"request_id\": \"x\", \"transcript\": [1,", "application/json"});
    const auto channel = marked_channel(req.get_file_value("file").content);
    reply(res, {200, transcript_json(script(), false, channel, true, language_code()).dump()});
  });

  s.Put(R"(/blob/upload/([^/]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (req.get_param_value("sig") != "AbC/d+eF=" || req.target.find("sig=AbC%2Fd%2BeF%3D") == std::string::npos) {
      return reply(res, {403, "<Error><Code>AuthenticationFailed</Code></Error>", "application/xml"});
    }
    if (req.get_header_value("x-ms-blob-type") != "BlockBlob") {
      return reply(res, {400, "<Error><Code>MissingRequiredHeader</Code></Error>", "application/xml"});
    }
    if (req.has_header("api-subscription-key")) {
      return reply(res, {400, "<Error><Code>UnexpectedCredential</Code></Error>", "application/xml"});
    }
    std::lock_guard lock(jobs_mu_);
    auto it = jobs_.find(req.matches[1]);
    if (it == jobs_.end() || it->second.file_name != req.matches[2]) {
      return reply(res, {404, "<Error><Code>ContainerNotFound</Code></Error>", "application/xml"});
    }
    it->second.upload = req.body;
    res.status = 201;
  });

  batch_routes(base, false);
  batch_routes("/speech-to-text-translate/job/v1", true);

  s.Get(R"(/blob/output/([^/]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (req.get_param_value("sig") != "Out+1") {
      return reply(res, {403, "<Error><Code>AuthenticationFailed</Code></Error>", "application/xml"});
    }
    bool diarize = false;
    bool translate = false;
    {
      std::lock_guard lock(jobs_mu_);
      auto it = jobs_.find(req.matches[1]);
      if (it == jobs_.end()) return reply(res, {404, "<Error><Code>BlobNotFound</Code></Error>", "application/xml"});
      diarize = it->second.diarize;
      translate = it->second.translate;
    }
    if (malformed()) return reply(res, {200, "{\"transcript\": ", "application/json"});
    reply(res, {200, transcript_json(script(), diarize, std::nullopt, translate, language_code()).dump()});
  });
}

void FakeSarvam::batch_routes(const std::string& base, bool translate_endpoint) {
  auto& s = server();
  s.Post(base, [this, translate_endpoint](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (!key_ok(req, api_key())) return reply(res, failure_reply(FailureKind::kAuth));
    const auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.contains("job_parameters") || !body["job_parameters"].is_object()) {
      return reply(res, {422, error_json("unprocessable_entity_error", "job_parameters required").dump()});
    }
    const auto& params = body["job_parameters"];
    const std::string mode = params.value("mode", "");
    const std::string model = params.value("model", "");
    if (translate_endpoint ? !model.starts_with("saaras:") : (!mode.empty() && !model.starts_with("saaras:v3"))) {
      return reply(res, {400, error_json("invalid_request_error", "model does not support this mode").dump()});
    }
    if (malformed()) return reply(res, {202, "<html>oops</html>", "text/html"});
    std::string id;
    {
      std::lock_guard lock(jobs_mu_);
      id = fmt::format("job-{:04d}", next_id_++);
      Job job;
      job.params = body["job_parameters"].dump();
      job.diarize = body["job_parameters"].value("with_diarization", false);
      job.translate = translate_endpoint || mode == "translate";
      jobs_[id] = job;
      last_job_ = id;
    }
    reply(res, {202, json{{"job_id", id},
                          {"storage_container_type", "Azure"},
                          {"job_parameters", body["job_parameters"]},
                          {"job_state", "Accepted"}}
                         .dump()});
  });

  s.Post(base + "/upload-files", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (!key_ok(req, api_key())) return reply(res, failure_reply(FailureKind::kAuth));
    const auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.contains("files") || !body["files"].is_array() || body["files"].size() != 1) {
      return reply(res, {400, error_json("invalid_request_error", "files must list one file").dump()});
    }
    const std::string id = body.value("job_id", "");
    const std::string name = body["files"][0].get<std::string>();
    {
      std::lock_guard lock(jobs_mu_);
      auto it = jobs_.find(id);
      if (it == jobs_.end()) return reply(res, {404, error_json("not_found_error", "no such job").dump()});
      it->second.file_name = name;
    }
    // A SAS-style URL whose query carries percent-encoded characters: the client must use
    // it exactly as given (re-encoding it would break the signature check below).
    const std::string url =
        fmt::format("{}/blob/upload/{}/{}?sv=2024-05-04&sr=b&sig=AbC%2Fd%2BeF%3D", base_url(), id, name);
    reply(res, {200, json{{"job_id", id},
                          {"job_state", "Accepted"},
                          {"upload_urls", {{name, {{"file_url", url}, {"file_metadata", json::object()}}}}},
                          {"storage_container_type", "Azure"}}
                         .dump()});
  });

  s.Post(base + R"(/([^/]+)/start)", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (!key_ok(req, api_key())) return reply(res, failure_reply(FailureKind::kAuth));
    std::lock_guard lock(jobs_mu_);
    auto it = jobs_.find(req.matches[1]);
    if (it == jobs_.end()) return reply(res, {404, error_json("not_found_error", "no such job").dump()});
    if (it->second.upload.empty()) {
      return reply(res, {400, error_json("invalid_request_error", "no file uploaded").dump()});
    }
    it->second.started = true;
    reply(res, {200, json{{"job_id", it->first}, {"job_state", "Pending"}}.dump()});
  });

  s.Get(base + R"(/([^/]+)/status)", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (!key_ok(req, api_key())) return reply(res, failure_reply(FailureKind::kAuth));
    std::lock_guard lock(jobs_mu_);
    auto it = jobs_.find(req.matches[1]);
    if (it == jobs_.end()) return reply(res, {404, error_json("not_found_error", "no such job").dump()});
    auto& job = it->second;
    if (!job.started) return reply(res, {200, json{{"job_id", it->first}, {"job_state", "Accepted"}}.dump()});
    ++job.polls;
    json status = {{"job_id", it->first},
                   {"created_at", "2026-11-21T10:00:00Z"},
                   {"updated_at", "2026-11-21T10:00:05Z"},
                   {"total_files", 1},
                   {"error_message", ""}};
    const json inputs = json::array({{{"file_name", job.file_name}, {"file_id", "0"}}});
    if (job.polls < polls_until_complete_.load()) {
      status["job_state"] = job.polls == 1 ? "Pending" : "Running";
      status["successful_files_count"] = 0;
      status["failed_files_count"] = 0;
      status["job_details"] = json::array({{{"inputs", inputs}, {"outputs", json::array()}, {"state", "Running"}}});
    } else if (!batch_failure_.empty()) {
      status["job_state"] = "Failed";
      status["error_message"] = batch_failure_;
      status["successful_files_count"] = 0;
      status["failed_files_count"] = 1;
      status["job_details"] = json::array({{{"inputs", inputs},
                                            {"outputs", json::array()},
                                            {"state", "Failed"},
                                            {"error_message", batch_failure_},
                                            {"exception_name", "AudioDecodeError"}}});
    } else {
      status["job_state"] = "Completed";
      status["successful_files_count"] = 1;
      status["failed_files_count"] = 0;
      status["job_details"] =
          json::array({{{"inputs", inputs},
                        {"outputs", json::array({{{"file_name", job.file_name + ".json"}, {"file_id", "0"}}})},
                        {"state", "Success"},
                        {"error_message", nullptr},
                        {"exception_name", nullptr}}});
    }
    reply(res, {200, status.dump()});
  });

  s.Post(base + "/download-files", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (!key_ok(req, api_key())) return reply(res, failure_reply(FailureKind::kAuth));
    const auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.contains("files") || !body["files"].is_array()) {
      return reply(res, {400, error_json("invalid_request_error", "files required").dump()});
    }
    const std::string id = body.value("job_id", "");
    json urls = json::object();
    for (const auto& f : body["files"]) {
      const auto name = f.get<std::string>();
      urls[name] = {{"file_url", fmt::format("{}/blob/output/{}/{}?sv=2024-05-04&sig=Out%2B1", base_url(), id, name)},
                    {"file_metadata", json::object()}};
    }
    reply(res, {200, json{{"job_id", id}, {"job_state", "Completed"}, {"download_urls", urls}}.dump()});
  });
}

}  // namespace earshot::testing

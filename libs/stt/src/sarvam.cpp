#include <fmt/format.h>

#include <algorithm>

#include "earshot/core/backoff.hpp"
#include "earshot/stt/adapters.hpp"
#include "json_util.hpp"

namespace earshot::stt {

using nlohmann::json;

namespace {

// {"error": {"message", "code"}}; 429 insufficient_quota_error means credits are gone.
Error sarvam_error(const http::HttpResponse& r) {
  const auto j = json::parse(r.body, nullptr, false);
  std::string code;
  std::string message;
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    code = detail::str_or(j["error"], "code");
    message = detail::str_or(j["error"], "message");
  } else if (j.is_object()) {
    message = detail::str_or(j, "message", detail::str_or(j, "detail"));
  } else {
    message = detail::excerpt(r.body);
  }
  return http::error_for_status("sarvam", r.status, code, message, code == "insufficient_quota_error");
}

// Blob storage answers in XML or not at all; the status says enough.
Error blob_error(const http::HttpResponse& r) {
  return http::error_for_status("sarvam upload storage", r.status, "", detail::excerpt(r.body), false);
}

double number_at(const json& arr, std::size_t i) {
  return i < arr.size() && arr[i].is_number() ? arr[i].get<double>() : 0.0;
}

// The sync response and each batch output file share one shape.
Result<Transcript> parse_transcript(const json& j, const std::string& language, std::int64_t duration_ms) {
  if (!j.contains("transcript") || !(j["transcript"].is_string() || j["transcript"].is_null())) {
    return std::unexpected(detail::malformed("sarvam", "no transcript"));
  }
  Transcript t;
  t.provider = "sarvam";
  t.reported_language = detail::str_or(j, "language_code");
  t.language = t.reported_language.empty() ? language : t.reported_language;
  const auto dia = j.find("diarized_transcript");
  if (dia != j.end() && dia->is_object() && dia->contains("entries") && (*dia)["entries"].is_array()) {
    for (const auto& e : (*dia)["entries"]) {
      if (!e.is_object()) return std::unexpected(detail::malformed("sarvam", "diarized entry is not an object"));
      Segment s;
      s.speaker = detail::str_or(e, "speaker_id", "unknown");
      s.start_ms = detail::seconds_to_ms(detail::num_or(e, "start_time_seconds"));
      s.end_ms = detail::seconds_to_ms(detail::num_or(e, "end_time_seconds"));
      s.text = detail::trim_text(detail::str_or(e, "transcript"));
      t.segments.push_back(std::move(s));
    }
    t.diarized = true;
  } else if (auto ts = j.find("timestamps"); ts != j.end() && ts->is_object()) {
    const json words = ts->value("words", json::array());
    const json starts = ts->value("start_time_seconds", json::array());
    const json ends = ts->value("end_time_seconds", json::array());
    if (!words.is_array() || !starts.is_array() || !ends.is_array()) {
      return std::unexpected(detail::malformed("sarvam", "timestamps are not arrays"));
    }
    // Sarvam's timestamp "words" are chunks of text with their times: one segment each.
    for (std::size_t i = 0; i < words.size(); ++i) {
      Segment s;
      s.speaker = "unknown";
      s.text = words[i].is_string() ? detail::trim_text(words[i].get<std::string>()) : "";
      s.start_ms = detail::seconds_to_ms(number_at(starts, i));
      s.end_ms = detail::seconds_to_ms(number_at(ends, i));
      if (!s.text.empty()) t.segments.push_back(std::move(s));
    }
  }
  if (t.segments.empty()) {
    auto text = detail::trim_text(detail::str_or(j, "transcript"));
    if (!text.empty()) {
      Segment s;
      s.speaker = "unknown";
      s.text = std::move(text);
      s.end_ms = duration_ms;
      t.segments.push_back(std::move(s));
    }
  }
  std::stable_sort(t.segments.begin(), t.segments.end(),
                   [](const Segment& a, const Segment& b) { return a.start_ms < b.start_ms; });
  return t;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Where a job goes. Transcription: /speech-to-text with the configured model (saarika:v2.5
// by default; saaras:v3 with mode=transcribe). Translation to English: saaras:v3 takes
// mode=translate on the same endpoints; any other model goes to the translate endpoints
// with saaras:v2.5 (a configured saaras model is kept), which detect the language themselves.
struct Route {
  std::string path;  // "/speech-to-text" or "/speech-to-text-translate"
  std::string model;
  std::string mode;  // empty: none sent
  bool send_language = true;
};

Route route_for(const ProviderConfig& cfg, bool translate) {
  const bool v3 = cfg.model.starts_with("saaras:v3");
  if (!translate) {
    return {"/speech-to-text", cfg.model.empty() ? "saarika:v2.5" : cfg.model, v3 ? "transcribe" : "", true};
  }
  if (v3) return {"/speech-to-text", cfg.model, "translate", true};
  return {"/speech-to-text-translate", cfg.model.starts_with("saaras:") ? cfg.model : "saaras:v2.5", "", false};
}

// The batch job flow, one object per job, kept alive by the callbacks that hold it.
struct BatchJob : std::enable_shared_from_this<BatchJob> {
  std::shared_ptr<const ProviderConfig> cfg;
  http::HttpClient& client;
  const Clock& clock;
  http::RetryContext ctx;  // one deadline for the whole flow
  std::shared_ptr<const std::string> audio;
  std::string language;
  bool diarize = true;
  int num_speakers = 2;
  std::int64_t duration_ms = 0;
  Route route;
  TranscribeCallback done;

  std::shared_ptr<JobLedger> ledger;  // may be null
  std::string ledger_key;
  bool resumed = false;  // polling a job a previous attempt started (named in the ledger)

  std::string base;
  std::string file_name;
  std::string job_id;
  std::string container_type;
  Backoff poll_backoff;
  std::string last_state;

  BatchJob(std::shared_ptr<const ProviderConfig> c, http::HttpClient& cl, const Clock& ck, Route r)
      : cfg(std::move(c)),
        client(cl),
        clock(ck),
        ctx(detail::retry_context(*cfg, cl, ck, "sarvam batch")),
        route(std::move(r)),
        base(cfg->base_url + route.path + "/job/v1"),
        poll_backoff(cfg->poll_interval, cfg->max_poll_interval) {}

  void fail(Error e) {
    auto cb = std::move(done);
    if (!job_id.empty()) {
      e.message += fmt::format(" [sarvam job {}{}{}]", job_id, last_state.empty() ? "" : ", last state ", last_state);
    }
    cb(std::unexpected(std::move(e)));
  }

  http::RetryContext step(std::string_view what) const {
    auto c = ctx;
    c.what = std::string("sarvam batch ").append(what);
    return c;
  }

  http::HttpRequest api(std::string method, std::string url) const {
    auto r = detail::base_request(*cfg, std::move(method), std::move(url));
    r.add_header("api-subscription-key", cfg->api_key);
    return r;
  }

  // POST url with a JSON body (or none), retried; `next` gets the parsed 2xx body.
  void call(std::string_view what, std::string url, std::optional<json> body, std::function<void(const json&)> next) {
    auto self = shared_from_this();
    auto build = [self, url = std::move(url), body = body ? body->dump() : std::string(), has_body = body.has_value()] {
      auto r = self->api("POST", url);
      if (has_body) r.set_body(body, "application/json");
      return r;
    };
    http::send_with_retry(step(what), std::move(build), sarvam_error,
                          [self, next = std::move(next)](Result<http::HttpResponse> r) {
                            if (!r) return self->fail(std::move(r.error()));
                            auto j = detail::parse_body("sarvam", *r);
                            if (!j) return self->fail(std::move(j.error()));
                            next(*j);
                          });
  }

  void start() {
    json params = {{"model", route.model}, {"with_timestamps", true}, {"with_diarization", diarize}};
    if (route.send_language) params["language_code"] = language;
    if (diarize && num_speakers > 0) params["num_speakers"] = num_speakers;
    if (!route.mode.empty()) params["mode"] = route.mode;
    json body = {{"job_parameters", params}, {"callback", nullptr}};
    call("create", base, body, [self = shared_from_this()](const json& j) {
      self->job_id = detail::str_or(j, "job_id");
      self->container_type = detail::str_or(j, "storage_container_type");
      if (self->job_id.empty()) return self->fail(detail::malformed("sarvam", "create: no job_id"));
      self->request_upload();
    });
  }

  void request_upload() {
    json body = {{"job_id", job_id}, {"files", json::array({file_name})}};
    call("upload-files", base + "/upload-files", body, [self = shared_from_this()](const json& j) {
      auto ct = detail::str_or(j, "storage_container_type");
      if (!ct.empty()) self->container_type = ct;
      const auto urls = j.value("upload_urls", json::object());
      if (!urls.is_object() || !urls.contains(self->file_name) ||
          detail::str_or(urls[self->file_name], "file_url").empty()) {
        return self->fail(detail::malformed("sarvam", "upload-files: no upload URL for the file"));
      }
      self->upload(detail::str_or(urls[self->file_name], "file_url"));
    });
  }

  void upload(std::string url) {
    auto self = shared_from_this();
    const bool azure = lower(container_type).find("azure") != std::string::npos;
    // The URL is pre-signed: used exactly as returned, without the API key.
    auto build = [self, url = std::move(url), azure] {
      auto r = detail::base_request(*self->cfg, "PUT", url);
      if (azure) r.add_header("x-ms-blob-type", "BlockBlob");
      r.add_header("Content-Type", std::string(audio_content_type(*self->audio)));
      r.shared_body = self->audio;
      return r;
    };
    http::send_with_retry(step("upload"), std::move(build), blob_error, [self](Result<http::HttpResponse> r) {
      if (!r) return self->fail(std::move(r.error()));
      self->call("start", self->base + "/" + http::url_encode(self->job_id) + "/start", std::nullopt,
                 [self](const json&) {
                   // Running with the file: from here a redelivery polls this job.
                   if (self->ledger) self->ledger->remember(self->ledger_key, self->job_id);
                   self->poll();
                 });
    });
  }

  // Polls `id`, a job a previous attempt started; a job whose status Sarvam refuses to show
  // is started again from the beginning.
  void resume(std::string id) {
    resumed = true;
    job_id = std::move(id);
    poll();
  }

  void poll() {
    auto self = shared_from_this();
    auto build = [self] { return self->api("GET", self->base + "/" + http::url_encode(self->job_id) + "/status"); };
    http::send_with_retry(step("status"), std::move(build), sarvam_error, [self](Result<http::HttpResponse> r) {
      // A resumed job Sarvam will not show (404 once it expired; 403 or 401 under a key the
      // business has changed since) is started afresh; throttling and outages still fail.
      if (!r && self->resumed && !http::is_retryable(r.error().code)) {
        self->resumed = false;
        self->job_id.clear();
        return self->start();
      }
      if (!r) return self->fail(std::move(r.error()));
      auto j = detail::parse_body("sarvam", *r);
      if (!j) return self->fail(std::move(j.error()));
      self->on_status(*j);
    });
  }

  void on_status(const json& j) {
    last_state = detail::str_or(j, "job_state");
    const auto state = lower(last_state);
    const json details = j.value("job_details", json::array());
    if (state == "failed" && resumed) {
      // An earlier delivery's job that failed: this delivery gets its own try.
      resumed = false;
      job_id.clear();
      return start();
    }
    if (state == "failed") {
      std::string why = detail::str_or(j, "error_message");
      if (why.empty() && details.is_array() && !details.empty()) {
        why = detail::str_or(details[0], "error_message");
      }
      return fail(Error(ErrorCode::kInvalidArgument,
                        "sarvam batch job failed: " + (why.empty() ? std::string("no reason given") : why)));
    }
    if (state == "completed" || state == "partiallycompleted") {
      std::vector<std::string> outputs;
      std::string file_error;
      if (details.is_array()) {
        for (const auto& d : details) {
          if (lower(detail::str_or(d, "state")) == "failed") {
            file_error = detail::str_or(d, "error_message", detail::str_or(d, "exception_name"));
          }
          for (const auto& o : d.value("outputs", json::array())) {
            auto name = detail::str_or(o, "file_name");
            if (!name.empty()) outputs.push_back(std::move(name));
          }
        }
      }
      if (outputs.empty()) {
        return fail(Error(ErrorCode::kInvalidArgument, "sarvam batch job produced no output" +
                                                           (file_error.empty() ? std::string() : ": " + file_error)));
      }
      return download(std::move(outputs));
    }
    // Accepted, Pending, Running (and any state we do not know yet): wait and ask again.
    const auto delay = poll_backoff.next();
    if (clock.steady_now() + delay >= ctx.deadline) {
      return fail(Error(ErrorCode::kTimeout, fmt::format("sarvam batch job not finished within the deadline (state {})",
                                                         last_state.empty() ? "unknown" : last_state)));
    }
    if (client.shutting_down()) return fail(Error(ErrorCode::kUnavailable, "shutting down"));
    client.post_after(delay, [self = shared_from_this()] { self->poll(); });
  }

  void download(std::vector<std::string> outputs) {
    json body = {{"job_id", job_id}, {"files", outputs}};
    call("download-files", base + "/download-files", body,
         [self = shared_from_this(), name = outputs.front()](const json& j) {
           const auto urls = j.value("download_urls", json::object());
           if (!urls.is_object() || !urls.contains(name) || detail::str_or(urls[name], "file_url").empty()) {
             return self->fail(detail::malformed("sarvam", "download-files: no URL for the output"));
           }
           self->fetch_output(detail::str_or(urls[name], "file_url"));
         });
  }

  void fetch_output(std::string url) {
    auto self = shared_from_this();
    auto build = [self, url = std::move(url)] { return detail::base_request(*self->cfg, "GET", url); };
    http::send_with_retry(step("output"), std::move(build), blob_error, [self](Result<http::HttpResponse> r) {
      if (!r) return self->fail(std::move(r.error()));
      auto j = detail::parse_body("sarvam", *r);
      if (!j) return self->fail(std::move(j.error()));
      auto t = parse_transcript(*j, self->language, self->duration_ms);
      auto cb = std::move(self->done);
      cb(std::move(t));
    });
  }
};

}  // namespace

SarvamProvider::SarvamProvider(ProviderConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::make_shared<const ProviderConfig>(std::move(config))), client_(client), clock_(clock) {}

void SarvamProvider::transcribe(SttJob job, TranscribeCallback done) {
  if (job.audio.empty()) {
    done(make_error(ErrorCode::kInvalidArgument, "sarvam: empty audio"));
    return;
  }
  const auto& cfg = *config_;
  std::string language = job.language.empty() ? cfg.language : job.language;
  if (language.empty()) language = "unknown";
  const bool diarize = job.diarize && job.num_speakers != 1;
  const auto duration_ms = job.duration.count();
  const auto route = route_for(cfg, job.translate);

  if (diarize || job.duration > kSyncLimit || job.duration.count() <= 0) {
    auto batch = std::make_shared<BatchJob>(config_, client_, clock_, route);
    batch->audio = std::make_shared<const std::string>(std::move(job.audio));
    batch->language = language;
    batch->diarize = diarize;
    batch->num_speakers = job.num_speakers;
    batch->duration_ms = duration_ms;
    batch->done = std::move(done);
    batch->file_name = fmt::format("audio.{}", audio_extension(*batch->audio));
    batch->ledger = std::move(job.ledger);
    // The job's settings are part of its key: a call transcribed again with another model,
    // language or mode (a reprocess after a config change) gets a job of its own.
    batch->ledger_key = fmt::format("{}|{}|{}|{}|{}|{}", job.id, route.path, route.model, route.mode,
                                    route.send_language ? language : std::string(), diarize ? job.num_speakers : 0);
    if (batch->ledger) {
      if (auto started = batch->ledger->recall(batch->ledger_key); started && !started->empty()) {
        batch->resume(std::move(*started));
        return;
      }
    }
    batch->start();
    return;
  }

  // The multipart body is built once and shared by every attempt: the audio is held once.
  std::vector<http::MultipartPart> parts;
  parts.push_back({"file", std::string(), fmt::format("audio.{}", audio_extension(job.audio)),
                   std::string(audio_content_type(job.audio))});
  parts.push_back({"model", route.model, "", ""});
  if (route.send_language) parts.push_back({"language_code", language, "", ""});
  if (!route.mode.empty()) parts.push_back({"mode", route.mode, "", ""});
  parts[0].data = std::move(job.audio);
  http::HttpRequest form;
  form.set_multipart(parts);
  parts.clear();
  auto body = std::make_shared<const std::string>(std::move(form.body));
  auto build = [config = config_, body, form_type = form.headers.front().second, path = route.path] {
    auto r = detail::base_request(*config, "POST", config->base_url + path);
    r.add_header("api-subscription-key", config->api_key);
    r.add_header("Content-Type", form_type);
    r.shared_body = body;
    return r;
  };
  http::send_with_retry(detail::retry_context(cfg, client_, clock_, "sarvam " + route.path.substr(1)), std::move(build),
                        sarvam_error, [done = std::move(done), language, duration_ms](Result<http::HttpResponse> r) {
                          if (!r) {
                            done(std::unexpected(r.error()));
                            return;
                          }
                          auto j = detail::parse_body("sarvam", *r);
                          if (!j) {
                            done(std::unexpected(j.error()));
                            return;
                          }
                          done(parse_transcript(*j, language, duration_ms));
                        });
}

}  // namespace earshot::stt

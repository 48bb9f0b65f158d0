#pragma once
// One fake per provider; formats as in the shared providers.md.

#include <map>
#include <string>

#include "fakes/stt/fake_server.hpp"

namespace earshot::testing {

// Sarvam: POST /speech-to-text (multipart) and the batch job API under
// /speech-to-text/job/v1, serving the pre-signed upload (PUT /blob/upload/..., Azure-style:
// requires x-ms-blob-type: BlockBlob, refuses the API key, answers 201) and output
// (GET /blob/output/...) URLs itself. Jobs complete after `polls_until_complete` polls.
// Speech to English: POST /speech-to-text-translate (multipart `file`, `model` saaras:*, no
// language_code) and the same batch flow under /speech-to-text-translate/job/v1, or
// mode=translate with a saaras:v3 model on the transcription endpoints: the answer carries
// each utterance's `english` text, with the detected source language as language_code.
class FakeSarvam final : public FakeProviderServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeSarvam() override { stop(); }
  explicit FakeSarvam(Options options = {}) : FakeProviderServer(std::move(options)) {}
  void set_polls_until_complete(int n) { polls_until_complete_ = n; }
  void set_batch_failure(std::string message) {  // the job ends Failed with this message
    std::lock_guard lock(jobs_mu_);
    batch_failure_ = std::move(message);
  }
  // Bytes received by the blob PUT of the last job, and the job parameters it was created with.
  [[nodiscard]] std::string last_upload() const;
  [[nodiscard]] std::string last_job_parameters() const;
  // The language_code answers report (default "en-IN").
  void set_language_code(std::string code) {
    std::lock_guard lock(jobs_mu_);
    language_code_ = std::move(code);
  }
  [[nodiscard]] std::string language_code() const {
    std::lock_guard lock(jobs_mu_);
    return language_code_;
  }

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;

 private:
  // create, upload-files, start, status and download-files under `base`.
  void batch_routes(const std::string& base, bool translate_endpoint);
  struct Job {
    std::string params;  // job_parameters as JSON text
    bool diarize = false;
    bool translate = false;
    std::string file_name;
    std::string upload;
    bool started = false;
    int polls = 0;
  };
  std::atomic<int> polls_until_complete_{2};
  mutable std::mutex jobs_mu_;
  std::map<std::string, Job> jobs_;
  std::string last_job_;
  std::string batch_failure_;
  std::string language_code_ = "en-IN";
  int next_id_ = 1;
};

// What Deepgram answers a POST /v1/listen (status and JSON body): 401 for a wrong key, 400
// without audio or without model and utterances=true, else the transcript of `script`
// (utterances and words; per channel when multichannel). Shared by FakeDeepgram and the
// end-to-end benchmark's leaner server.
struct DeepgramListen {
  std::string authorization;
  std::string content_type;
  std::string model;
  std::string utterances;
  bool multichannel = false;
  bool diarize = false;
  std::size_t body_bytes = 0;
};
struct DeepgramAnswer {
  int status = 200;
  std::string body;
};
[[nodiscard]] DeepgramAnswer deepgram_listen(const DeepgramListen& req, const std::string& api_key,
                                             const std::vector<FakeUtterance>& script);

// Deepgram: POST /v1/listen, raw audio body, Authorization: Token KEY.
class FakeDeepgram final : public FakeProviderServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeDeepgram() override { stop(); }
  explicit FakeDeepgram(Options options = {}) : FakeProviderServer(std::move(options)) {}
  [[nodiscard]] std::string last_query() const;
  [[nodiscard]] std::string last_content_type() const;
  [[nodiscard]] std::string last_body() const;

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;

 private:
  mutable std::mutex mu_;
  std::string last_query_;
  std::string last_content_type_;
  std::string last_body_;
};

// OpenAI-compatible POST /v1/audio/transcriptions (verbose_json) and whisper.cpp's
// POST /inference. set_flat_errors() switches to the {"object":"error",...} error shape.
class FakeOpenAi final : public FakeProviderServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeOpenAi() override { stop(); }
  explicit FakeOpenAi(Options options = {}) : FakeProviderServer(std::move(options)) {}
  void set_flat_errors(bool on) { flat_errors_ = on; }
  // Multipart field names and values of the last request (file content omitted).
  [[nodiscard]] std::multimap<std::string, std::string> last_fields() const;

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;

 private:
  std::atomic<bool> flat_errors_{false};
  mutable std::mutex mu_;
  std::multimap<std::string, std::string> last_fields_;
};

}  // namespace earshot::testing

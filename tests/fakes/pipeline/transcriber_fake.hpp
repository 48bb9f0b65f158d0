#pragma once
// A scripted pipeline::Transcriber and TranscriberFactory (pipeline/transcribe_stage.hpp)
// for unit tests: the transcriber answers every call with the transcript (or error) it was
// given and records what it was asked; the factory hands out that transcriber for any
// provider, records the providers asked for, and fail_next(error) makes its next answer
// that error. A held transcriber (hold()) answers only as allow() lets it, one call per
// permit, each waiting at most 30 s. Thread-safe (the stage calls them from its work
// threads).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/pipeline/transcribe_stage.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeTranscriber final : public pipeline::Transcriber {
 public:
  // What one transcribe() call was given.
  struct Asked {
    bool stereo = false;
    std::size_t channels = 0;  // of the decoded audio
    int agent_channel = 0;
    int customer_channel = 1;
    std::string language;
    std::size_t encoded_bytes = 0;
    bool had_speech = false;                 // stereo: both roles' voice activity was given
    std::shared_ptr<stt::JobLedger> ledger;  // where a provider would name its jobs
  };

  void set_reply(Result<stt::Transcript> reply) {
    std::lock_guard lock(mu_);
    reply_ = std::move(reply);
  }

  // From now on each transcribe() waits for a permit of allow().
  void hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void allow(std::size_t calls = 1) {
    {
      std::lock_guard lock(mu_);
      permits_ += calls;
    }
    cv_.notify_all();
  }
  // Lets every waiting and later call through.
  void release_all() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }

  Result<stt::Transcript> transcribe(const Input& in) override {
    std::unique_lock lock(mu_);
    Asked a;
    a.stereo = in.stereo;
    a.channels = in.audio != nullptr ? in.audio->channels.size() : 0;
    a.agent_channel = in.agent_channel;
    a.customer_channel = in.customer_channel;
    a.language = in.language;
    a.encoded_bytes = in.encoded.size();
    a.had_speech = in.agent_speech != nullptr && in.customer_speech != nullptr;
    a.ledger = in.ledger;
    asked_.push_back(std::move(a));
    if (held_) {
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(30), [&] { return !held_ || permits_ > 0; });
      if (permits_ > 0) --permits_;
    }
    return reply_;
  }

  [[nodiscard]] std::vector<Asked> asked() const {
    std::lock_guard lock(mu_);
    return asked_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Result<stt::Transcript> reply_ = stt::Transcript{};
  std::vector<Asked> asked_;
  bool held_ = false;
  std::size_t permits_ = 0;
};

class FakeTranscriberFactory final : public pipeline::TranscriberFactory {
 public:
  explicit FakeTranscriberFactory(std::shared_ptr<pipeline::Transcriber> transcriber)
      : transcriber_(std::move(transcriber)) {}

  Result<std::shared_ptr<pipeline::Transcriber>> for_config(const storage::PipelineConfig& config) override {
    std::lock_guard lock(mu_);
    providers_.push_back(config.stt_provider);
    if (auto e = failure_.take()) return std::unexpected(*e);
    return transcriber_;
  }

  // ---- test hooks ----
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }
  // The stt_provider of every config asked for, in order.
  [[nodiscard]] std::vector<std::string> providers() const {
    std::lock_guard lock(mu_);
    return providers_;
  }

 private:
  std::shared_ptr<pipeline::Transcriber> transcriber_;
  mutable std::mutex mu_;
  std::vector<std::string> providers_;
  FailNext failure_;
};

}  // namespace earshot::testing

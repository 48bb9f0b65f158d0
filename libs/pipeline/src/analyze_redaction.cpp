// The analyze stage's redaction step: the redacted transcript and the recording's redacted
// copy (analyze_stage.hpp, redaction.hpp).
#include <fmt/format.h>

#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/log.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/redaction.hpp"

namespace earshot::pipeline {
namespace {

bool retryable(ErrorCode c) {
  return c == ErrorCode::kUnavailable || c == ErrorCode::kTimeout || c == ErrorCode::kRateLimited;
}

}  // namespace

Result<storage::TranscriptRedaction> AnalyzeStage::redact_call(const storage::TenantId& t,
                                                               const storage::CallRecord& call,
                                                               const storage::Transcript& transcript,
                                                               RedactedTranscript red) {
  storage::TranscriptRedaction out;
  out.call_id = call.id;
  out.version = transcript.version;
  out.segments_json = std::move(red.segments_json);
  out.full_text = std::move(red.full_text);
  objectstore::ObjectStore* store = redacted_audio_store_;
  // Only a recording of the business's own in the store (the gateway streams no other).
  if (store == nullptr || call.audio_uri.empty() || !store->owns(call.audio_uri) ||
      !store->owned_by(call.audio_uri, t.bid())) {
    return out;
  }
  auto no_copy = [&](const Error& e) -> Result<storage::TranscriptRedaction> {
    if (retryable(e.code)) return std::unexpected(e);
    log::warn("no redacted copy of the recording", {{"reason", e.message}});
    return out;
  };
  auto bytes = store->read(call.audio_uri, decode_limits_.max_bytes);
  if (!bytes) return no_copy(bytes.error());
  auto decoded = audio::decode(*bytes, decode_limits_);
  if (!decoded) return no_copy(decoded.error());
  bytes->clear();
  bytes->shrink_to_fit();
  const auto masked = mask_ranges(*decoded, red.ranges);
  const std::string wav = audio::encode_wav_pcm16(*decoded);
  decoded->channels.clear();
  const std::span<const std::uint8_t> data(reinterpret_cast<const std::uint8_t*>(wav.data()), wav.size());
  auto uri = store->put(fmt::format("{}/redacted/{}.wav", t.bid(), call.id), data, "audio/wav");
  if (!uri) return no_copy(uri.error());
  out.audio_uri = std::move(*uri);
  log::info("redacted copy of the recording written",
            {{"ranges", std::to_string(red.ranges.size())}, {"frames_masked", std::to_string(masked)}});
  return out;
}

}  // namespace earshot::pipeline

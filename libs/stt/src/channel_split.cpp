#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <span>

#include "earshot/audio/audio.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/stt/adapters.hpp"

namespace earshot::stt {

ChannelSplitProvider::ChannelSplitProvider(std::unique_ptr<SttProvider> inner) : inner_(std::move(inner)) {}

namespace {

// Collects both channels' results; the second to arrive reports (callbacks may come from
// the loop thread or, for immediate refusals, the caller's thread).
struct Join {
  std::mutex mu;
  std::vector<std::optional<Result<Transcript>>> results;
  TranscribeCallback done;

  void set(std::size_t ch, Result<Transcript> r) {
    std::vector<std::optional<Result<Transcript>>> all;
    {
      std::lock_guard lock(mu);
      results[ch] = std::move(r);
      for (const auto& x : results) {
        if (!x) return;
      }
      all = std::move(results);
    }
    Transcript merged;
    for (std::size_t i = 0; i < all.size(); ++i) {
      auto& slot = all[i];
      if (!slot) return;  // not reached: `all` is taken only once every channel has its result
      auto& part = *slot;
      if (!part) {
        done(std::unexpected(part.error().with_context(fmt::format("channel {}", i))));
        return;
      }
      if (merged.provider.empty()) merged.provider = part->provider;
      if (merged.language.empty()) merged.language = part->language;
      if (merged.reported_language.empty()) merged.reported_language = part->reported_language;
      for (auto& s : part->segments) {
        s.speaker = fmt::format("ch{}", i);
        merged.segments.push_back(std::move(s));
      }
    }
    std::stable_sort(merged.segments.begin(), merged.segments.end(),
                     [](const Segment& a, const Segment& b) { return a.start_ms < b.start_ms; });
    merged.diarized = false;
    done(std::move(merged));
  }
};

}  // namespace

void ChannelSplitProvider::transcribe(SttJob job, TranscribeCallback done) {
  if (!job.separate_channels || job.channels < 2 || inner_->supports_multichannel()) {
    inner_->transcribe(std::move(job), std::move(done));
    return;
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(job.audio.data());
  auto decoded = audio::decode(std::span<const std::uint8_t>(bytes, job.audio.size()));
  if (!decoded) {
    done(std::unexpected(decoded.error().with_context("splitting channels")));
    return;
  }
  job.audio.clear();
  job.audio.shrink_to_fit();
  const auto channels = decoded->channels.size();
  if (channels < 2) {  // the job said stereo but the file is mono: transcribe as it is
    SttJob mono = std::move(job);
    mono.audio = audio::encode_wav_pcm16(*decoded);
    mono.channels = 1;
    mono.separate_channels = false;
    inner_->transcribe(std::move(mono), std::move(done));
    return;
  }
  auto join = std::make_shared<Join>();
  join->results.resize(channels);
  join->done = std::move(done);
  std::vector<SttJob> parts;
  for (std::size_t ch = 0; ch < channels; ++ch) {
    SttJob part;
    part.audio = audio::encode_wav_pcm16(decoded->channels[ch], decoded->sample_rate);
    part.channels = 1;
    part.duration = std::chrono::milliseconds(decoded->duration_ms());
    part.language = job.language;
    part.separate_channels = false;
    part.diarize = false;
    part.num_speakers = 1;
    part.translate = job.translate;
    part.id = fmt::format("{}#ch{}", job.id, ch);
    part.ledger = job.ledger;  // each channel's provider job under its own key
    parts.push_back(std::move(part));
  }
  decoded->channels.clear();
  for (std::size_t ch = 0; ch < channels; ++ch) {
    inner_->transcribe(std::move(parts[ch]), [join, ch](Result<Transcript> r) { join->set(ch, std::move(r)); });
  }
}

}  // namespace earshot::stt

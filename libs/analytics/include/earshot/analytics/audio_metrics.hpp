#pragma once
// Conversation metrics measured from the audio itself: per-channel voice activity on a
// stereo recording, with the business's channel-to-role mapping (agent on the left by
// default), loudness per speaker and a 1 s loudness series per channel.
// Mono recordings cannot separate speakers from the signal alone; for them the metrics come
// from diarized transcript segments (measure_from_segments), and loudness is taken from the
// mono signal over each speaker's segments.

#include <optional>
#include <vector>

#include "earshot/analytics/conversation.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/audio/vad.hpp"

namespace earshot::analytics {

struct ChannelMap {
  int agent_channel = 0;  // left
  int customer_channel = 1;
  // "agent,customer" or "customer,agent" (left first).
  static std::optional<ChannelMap> parse(std::string_view text);
};

struct SpeakerLoudness {
  audio::Loudness agent;
  audio::Loudness customer;
};

struct AudioMeasurement {
  MetricSource source = MetricSource::kAudio;
  ConversationMetrics conversation;
  SpeakerLoudness loudness;
  std::vector<std::vector<float>> loudness_series;  // per channel, 1 s steps, dBFS
  std::vector<audio::Interval> agent_speech;
  std::vector<audio::Interval> customer_speech;
};

// Stereo (or more channels; the two mapped ones are used). kInvalidArgument if a mapped
// channel does not exist.
[[nodiscard]] Result<AudioMeasurement> measure_stereo(const audio::AudioBuffer& audio, const ChannelMap& map,
                                                      const audio::VadOptions& vad = {});

// Any channel count, speakers from segments (e.g. a diarized transcript of a mono call).
// When the segments never overlap (one speaker at a time), interruptions are inferred from
// turn-taking over the mix's voice activity (turn_taking_interruptions) and flagged so.
[[nodiscard]] AudioMeasurement measure_from_segments(const audio::AudioBuffer& audio,
                                                     std::vector<audio::Interval> agent,
                                                     std::vector<audio::Interval> customer);

}  // namespace earshot::analytics

#include "earshot/analytics/audio_metrics.hpp"

#include <fmt/format.h>

namespace earshot::analytics {

std::optional<ChannelMap> ChannelMap::parse(std::string_view text) {
  if (text == "agent,customer") return ChannelMap{0, 1};
  if (text == "customer,agent") return ChannelMap{1, 0};
  return std::nullopt;
}

Result<AudioMeasurement> measure_stereo(const audio::AudioBuffer& a, const ChannelMap& map,
                                        const audio::VadOptions& vad) {
  const int n = static_cast<int>(a.channels.size());
  if (map.agent_channel >= n || map.customer_channel >= n || map.agent_channel == map.customer_channel) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("channel map agent={} customer={} does not fit {} channel(s)", map.agent_channel,
                                  map.customer_channel, n));
  }
  const auto& agent_samples = a.channels[static_cast<std::size_t>(map.agent_channel)];
  const auto& customer_samples = a.channels[static_cast<std::size_t>(map.customer_channel)];
  auto agent = audio::detect_voice(agent_samples, a.sample_rate, vad);
  auto customer = audio::detect_voice(customer_samples, a.sample_rate, vad);
  AudioMeasurement m;
  m.source = MetricSource::kAudio;
  m.agent_speech = agent.speech;
  m.customer_speech = customer.speech;
  m.conversation = compute_conversation(agent.speech, customer.speech, a.duration_ms());
  m.loudness.agent = audio::loudness_in(agent, agent.speech);
  m.loudness.customer = audio::loudness_in(customer, customer.speech);
  // The series of the measured channels come from their frame energies; any other channel
  // (a third one) is read for it.
  for (int c = 0; c < n; ++c) {
    const auto& samples = a.channels[static_cast<std::size_t>(c)];
    const audio::ChannelActivity* measured = c == map.agent_channel      ? &agent
                                             : c == map.customer_channel ? &customer
                                                                         : nullptr;
    auto series =
        measured != nullptr ? audio::loudness_series(*measured, samples.size(), a.sample_rate) : std::vector<float>{};
    if (series.empty() && !samples.empty()) series = audio::loudness_series(samples, a.sample_rate);
    m.loudness_series.push_back(std::move(series));
  }
  return m;
}

AudioMeasurement measure_from_segments(const audio::AudioBuffer& a, std::vector<audio::Interval> agent,
                                       std::vector<audio::Interval> customer) {
  AudioMeasurement m;
  m.source = MetricSource::kTranscript;
  m.conversation = compute_conversation(agent, customer, a.duration_ms());
  m.agent_speech = normalize(std::move(agent));
  m.customer_speech = normalize(std::move(customer));
  const auto mono = audio::mixdown(a);
  const auto activity = audio::detect_voice(mono, a.sample_rate);
  m.loudness.agent = audio::loudness_in(activity, m.agent_speech);
  m.loudness.customer = audio::loudness_in(activity, m.customer_speech);
  auto series = audio::loudness_series(activity, mono.size(), a.sample_rate);
  if (series.empty() && !mono.empty()) series = audio::loudness_series(mono, a.sample_rate);
  m.loudness_series.push_back(std::move(series));
  // One speaker at a time (a diarized mono call): no overlap to measure interruptions by;
  // they are inferred from turn-taking instead.
  if (m.conversation.overtalk_ms == 0) {
    const auto pauses = audio::detect_voice(mono, a.sample_rate, turn_taking_vad());
    set_interruptions(m.conversation, turn_taking_interruptions(m.agent_speech, m.customer_speech, pauses.speech),
                      true);
  }
  return m;
}

}  // namespace earshot::analytics

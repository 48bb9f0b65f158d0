// `earshot analyze-file AUDIO`: decode, measure, transcribe and report one recording
// in-process, with no services running.
#include "analyze_file.hpp"

#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/stt/local_engine.hpp"

namespace earshot::cli {
namespace {

constexpr std::string_view kUsage =
    "Usage: earshot analyze-file AUDIO [--stereo-map agent,customer|customer,agent]\n"
    "                            [--stt local|none] [--json]\n"
    "Decodes AUDIO (WAV, FLAC, OGG/Vorbis, MP3; recognised from its bytes), measures the\n"
    "conversation from the audio (stereo: one speaker per channel, agent left by default),\n"
    "transcribes it with the offline engine (--stt local, the default) and prints a report.\n"
    "A file that cannot be analysed exits 2 with the reason on stderr.\n";

nlohmann::json interval_json(const audio::Interval& i) {
  return {{"start_ms", i.start_ms}, {"end_ms", i.end_ms}};
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

}  // namespace

int analyze_file(std::span<char*> args) {
  std::string path;
  std::string map_text = "agent,customer";
  std::string stt = "local";
  bool json_out = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a(args[i]);
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--json") {
      json_out = true;
    } else if (a == "--stereo-map" && i + 1 < args.size()) {
      map_text = args[++i];
    } else if (a == "--stt" && i + 1 < args.size()) {
      stt = args[++i];
    } else if (!a.starts_with("--") && path.empty()) {
      path = std::string(a);
    } else {
      std::cerr << fmt::format("earshot analyze-file: unexpected argument '{}'\n{}", a, kUsage);
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  auto map = analytics::ChannelMap::parse(map_text);
  if (!map) {
    std::cerr << fmt::format("earshot analyze-file: --stereo-map must be agent,customer or customer,agent\n");
    return 2;
  }
  if (stt != "local" && stt != "none") {
    std::cerr << fmt::format(
        "earshot analyze-file: --stt {}: only the offline engine (local) or none can run "
        "without a configured provider here\n",
        stt);
    return 2;
  }

  auto decoded = audio::decode_file(path);
  if (!decoded) {
    std::cerr << fmt::format("earshot analyze-file: {}: {}\n", path, decoded.error().message);
    return 2;
  }
  const auto& a = *decoded;
  const bool stereo = a.channels.size() >= 2;

  // Speech per role, from the channels when stereo.
  std::vector<stt::Segment> segments;
  analytics::AudioMeasurement m;
  std::unique_ptr<stt::LocalEngine> engine;
  if (stt == "local") {
    auto e = stt::LocalEngine::create();
    if (!e) {
      std::cerr << fmt::format("earshot analyze-file: {}\n", e.error().message);
      return 1;
    }
    engine = std::move(*e);
  }
  if (stereo) {
    auto measured = analytics::measure_stereo(a, *map);
    if (!measured) {
      std::cerr << fmt::format("earshot analyze-file: {}\n", measured.error().message);
      return 2;
    }
    m = std::move(*measured);
    if (engine) {
      for (auto [role, channel, speech] :
           {std::tuple{"agent", map->agent_channel, &m.agent_speech},
            std::tuple{"customer", map->customer_channel, &m.customer_speech}}) {
        auto segs = engine->transcribe(a.channels[static_cast<std::size_t>(channel)], a.sample_rate,
                                       *speech, role);
        if (!segs) {
          std::cerr << fmt::format("earshot analyze-file: {}\n", segs.error().message);
          return 1;
        }
        segments.insert(segments.end(), segs->begin(), segs->end());
      }
    }
  } else {
    // Mono: speakers can only come from a transcript. The offline engine does not diarize,
    // so by the agent rule (greeting, else first speaker) all its speech is the agent's.
    const auto mono = audio::mixdown(a);
    const auto activity = audio::detect_voice(mono, a.sample_rate);
    if (engine) {
      auto segs = engine->transcribe(mono, a.sample_rate, activity.speech, "agent");
      if (!segs) {
        std::cerr << fmt::format("earshot analyze-file: {}\n", segs.error().message);
        return 1;
      }
      segments = std::move(*segs);
      std::vector<audio::Interval> agent;
      for (const auto& s : segments) agent.push_back({s.start_ms, s.end_ms});
      m = analytics::measure_from_segments(a, agent, {});
    } else {
      m = analytics::measure_from_segments(a, {}, {});
      m.conversation.non_talk_ms = a.duration_ms();
      std::int64_t talk = 0;
      for (const auto& i : activity.speech) talk += i.length();
      m.conversation.non_talk_ms = a.duration_ms() - talk;
    }
  }
  std::sort(segments.begin(), segments.end(),
            [](const stt::Segment& x, const stt::Segment& y) { return x.start_ms < y.start_ms; });

  const auto& c = m.conversation;
  auto speaker = [&](const char* role, const analytics::SpeakerMetrics& s, const audio::Loudness& l) {
    int words = 0;
    for (const auto& seg : segments) {
      if (seg.speaker == role) words += stt::count_words(seg.text);
    }
    nlohmann::json j{{"talk_ms", s.talk_ms},
                     {"interruptions", s.interruptions},
                     {"interruption_ms", s.interruption_ms},
                     {"longest_turn_ms", s.longest_turn_ms},
                     {"loudness_mean_dbfs", round2(l.mean_dbfs)},
                     {"loudness_peak_dbfs", round2(l.peak_dbfs)}};
    j["words_per_minute"] = (engine && s.talk_ms > 0)
                                ? nlohmann::json(round2(words / (static_cast<double>(s.talk_ms) / 60000.0)))
                                : nlohmann::json(nullptr);
    return j;
  };
  nlohmann::json out{
      {"file", path},
      {"format", audio::format_name(a.format)},
      {"codec", a.codec},
      {"sample_rate", a.sample_rate},
      {"duration_ms", a.duration_ms()},
      {"channels", a.channels.size()},
      {"source", analytics::source_name(m.source)},
      {"agent_talk_ratio", round2(c.agent_talk_ratio * 100) / 100},
      {"agent_talk_share_of_call", round2(c.agent_talk_share_of_call * 100) / 100},
      {"non_talk_ms", c.non_talk_ms},
      {"overtalk_ms", c.overtalk_ms},
      {"interactivity", round2(c.interactivity)},
      {"patience_ms", round2(c.patience_ms)},
      {"stt", stt},
  };
  out["silences"] = nlohmann::json::array();
  for (const auto& s : c.silences) out["silences"].push_back(interval_json(s));
  out["speakers"] = {{"agent", speaker("agent", c.agent, m.loudness.agent)},
                     {"customer", speaker("customer", c.customer, m.loudness.customer)}};
  if (!stereo && !engine) {
    out["note"] = "mono recording without a transcript: speech cannot be split by speaker";
  }
  out["segments"] = nlohmann::json::array();
  for (const auto& s : segments) {
    out["segments"].push_back({{"speaker", s.speaker},
                               {"start_ms", s.start_ms},
                               {"end_ms", s.end_ms},
                               {"text", s.text},
                               {"confidence", round2(s.confidence)}});
  }

  if (json_out) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{}: {} {} Hz, {} channel(s), {:.1f} s; metrics from the {}\n", path,
                           audio::format_name(a.format), a.sample_rate, a.channels.size(),
                           static_cast<double>(a.duration_ms()) / 1000.0,
                           analytics::source_name(m.source));
  std::cout << fmt::format("  talk: agent {:.1f} s, customer {:.1f} s (agent ratio {:.0f}%), "
                           "non-talk {:.1f} s, overtalk {:.1f} s\n",
                           static_cast<double>(c.agent.talk_ms) / 1000.0,
                           static_cast<double>(c.customer.talk_ms) / 1000.0, c.agent_talk_ratio * 100,
                           static_cast<double>(c.non_talk_ms) / 1000.0,
                           static_cast<double>(c.overtalk_ms) / 1000.0);
  std::cout << fmt::format("  interruptions: by agent {}, by customer {}; interactivity {:.1f}/min; "
                           "patience {:.0f} ms\n",
                           c.agent.interruptions, c.customer.interruptions, c.interactivity,
                           c.patience_ms);
  for (const auto& s : c.silences) {
    std::cout << fmt::format("  silence {:.1f}-{:.1f} s\n", static_cast<double>(s.start_ms) / 1000.0,
                             static_cast<double>(s.end_ms) / 1000.0);
  }
  for (const auto& s : segments) {
    std::cout << fmt::format("  [{:>7.1f}s] {:<8} {}\n", static_cast<double>(s.start_ms) / 1000.0,
                             s.speaker, s.text);
  }
  return 0;
}

}  // namespace earshot::cli

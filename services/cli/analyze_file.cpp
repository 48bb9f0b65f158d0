// `earshot analyze-file AUDIO | --transcript FILE`: decode, measure, transcribe and analyse
// one recording (or a transcript) in-process, with no services running.
#include "analyze_file.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/analytics/categories.hpp"
#include "earshot/analytics/pii.hpp"
#include "earshot/analytics/summary.hpp"
#include "earshot/analytics/transcript.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/stt/local_engine.hpp"

namespace earshot::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kUsage =
    "Usage: earshot analyze-file AUDIO [--stereo-map agent,customer|customer,agent]\n"
    "                            [--stt local|none] [--json] [--lexicon FILE] [--categories FILE]\n"
    "       earshot analyze-file --transcript FILE [--json] [--lexicon FILE] [--categories FILE]\n\n"
    "Decodes AUDIO (WAV, FLAC, OGG/Vorbis, MP3; recognised from its bytes), measures the\n"
    "conversation from the audio (stereo: one speaker per channel, agent left by default),\n"
    "transcribes it with the offline engine (--stt local, the default) and runs the built-in\n"
    "analyzers (sentiment, PII, summary, outcome, escalation, and the categories of\n"
    "--categories FILE: [{\"name\": ..., \"rules\": [...]}]).\n"
    "--transcript FILE analyses a call that arrived as text: JSON segments\n"
    "[{\"speaker\": \"agent\"|\"customer\", \"start_ms\", \"end_ms\", \"text\"}] (times optional) or\n"
    "plain lines \"agent: ...\" / \"customer: ...\".\n"
    "The sentiment lexicon is --lexicon, else EARSHOT_SENTIMENT_LEXICON, else\n"
    ".local/assets/vader-1.1.3/vader_lexicon.txt (scripts/fetch-assets.sh).\n"
    "A file that cannot be analysed exits 2 with the reason on stderr.\n";

double round2(double v) { return std::round(v * 100.0) / 100.0; }
json opt2(const std::optional<double>& v) { return v ? json(round2(*v)) : json(nullptr); }

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kInvalidArgument, fmt::format("cannot read '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// JSON segments, or "agent: ..." / "customer: ..." lines. Missing times are estimated from
// the words (0.4 s per word, 0.3 s between turns); `estimated` says so.
Result<std::vector<stt::Segment>> parse_transcript(const std::string& text, bool& estimated) {
  std::vector<stt::Segment> out;
  estimated = false;
  auto role_of = [](std::string r) -> std::optional<std::string> {
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (r == "agent" || r == "customer") return r;
    return std::nullopt;
  };
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) return make_error(ErrorCode::kInvalidArgument, "transcript is not a JSON array of segments");
    for (std::size_t i = 0; i < j.size(); ++i) {
      const auto& s = j[i];
      if (!s.is_object() || !s.contains("speaker") || !s["speaker"].is_string() || !s.contains("text") || !s["text"].is_string()) {
        return make_error(ErrorCode::kInvalidArgument, fmt::format("segment {} needs string speaker and text", i));
      }
      auto role = role_of(s["speaker"].get<std::string>());
      if (!role) return make_error(ErrorCode::kInvalidArgument, fmt::format("segment {}: speaker must be agent or customer", i));
      stt::Segment seg;
      seg.speaker = *role;
      seg.text = s["text"];
      const bool timed = s.contains("start_ms") && s["start_ms"].is_number_integer() && s.contains("end_ms") &&
                         s["end_ms"].is_number_integer();
      if (timed) {
        seg.start_ms = s["start_ms"];
        seg.end_ms = s["end_ms"];
        if (seg.start_ms < 0 || seg.end_ms < seg.start_ms) {
          return make_error(ErrorCode::kInvalidArgument, fmt::format("segment {}: needs 0 <= start_ms <= end_ms", i));
        }
      } else {
        seg.start_ms = seg.end_ms = -1;
        estimated = true;
      }
      out.push_back(std::move(seg));
    }
  } else {
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const auto colon = line.find(':');
      auto role = colon == std::string::npos ? std::nullopt : role_of(line.substr(0, colon));
      if (!role) return make_error(ErrorCode::kInvalidArgument, fmt::format("line {}: expected \"agent: ...\" or \"customer: ...\"", n));
      stt::Segment seg;
      seg.speaker = *role;
      seg.text = line.substr(colon + 1);
      seg.text.erase(0, seg.text.find_first_not_of(" \t"));
      while (!seg.text.empty() && (seg.text.back() == '\r' || seg.text.back() == ' ')) seg.text.pop_back();
      seg.start_ms = seg.end_ms = -1;
      estimated = true;
      out.push_back(std::move(seg));
    }
  }
  if (out.empty()) return make_error(ErrorCode::kInvalidArgument, "transcript has no segments");
  if (estimated) {
    std::int64_t t = 0;
    for (auto& s : out) {
      if (s.start_ms < 0) {
        s.start_ms = t;
        s.end_ms = t + std::max(1, stt::count_words(s.text)) * 400;
      }
      t = s.end_ms + 300;
    }
  }
  return out;
}

}  // namespace

int analyze_file(std::span<char*> args) {
  std::string path, transcript_path, lexicon_path, categories_path;
  std::string map_text = "agent,customer";
  std::string stt = "local";
  bool json_out = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a(args[i]);
    const bool has_value = i + 1 < args.size();
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--json") {
      json_out = true;
    } else if (a == "--stereo-map" && has_value) {
      map_text = args[++i];
    } else if (a == "--stt" && has_value) {
      stt = args[++i];
    } else if (a == "--transcript" && has_value) {
      transcript_path = args[++i];
    } else if (a == "--lexicon" && has_value) {
      lexicon_path = args[++i];
    } else if (a == "--categories" && has_value) {
      categories_path = args[++i];
    } else if (!a.starts_with("--") && path.empty()) {
      path = std::string(a);
    } else {
      std::cerr << fmt::format("earshot analyze-file: unexpected argument '{}'\n{}", a, kUsage);
      return 2;
    }
  }
  if (path.empty() == transcript_path.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  auto map = analytics::ChannelMap::parse(map_text);
  if (!map) {
    std::cerr << "earshot analyze-file: --stereo-map must be agent,customer or customer,agent\n";
    return 2;
  }
  if (stt != "local" && stt != "none") {
    std::cerr << fmt::format(
        "earshot analyze-file: --stt {}: only the offline engine (local) or none can run without a configured provider here\n",
        stt);
    return 2;
  }
  auto fail = [](int code, const std::string& why) {
    std::cerr << fmt::format("earshot analyze-file: {}\n", why);
    return code;
  };

  // Built-in analyzer inputs, loaded before the slow part so mistakes surface at once.
  if (lexicon_path.empty()) {
    const char* env = std::getenv("EARSHOT_SENTIMENT_LEXICON");
    lexicon_path = env != nullptr ? env : ".local/assets/vader-1.1.3/vader_lexicon.txt";
  }
  auto lexicon = analytics::SentimentLexicon::load_file(lexicon_path);
  if (!lexicon) return fail(2, lexicon.error().message);
  std::vector<analytics::Category> categories;
  if (!categories_path.empty()) {
    auto text = read_text(categories_path);
    if (!text) return fail(2, text.error().message);
    auto j = json::parse(*text, nullptr, false);
    if (!j.is_array()) return fail(2, fmt::format("{}: expected [{{\"name\", \"rules\"}}]", categories_path));
    for (const auto& c : j) {
      if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("rules")) {
        return fail(2, fmt::format("{}: every category needs a name and rules", categories_path));
      }
      auto parsed = analytics::parse_category(c["name"], c["rules"].dump());
      if (!parsed) return fail(2, fmt::format("{}: {}: {}", categories_path, c["name"].get<std::string>(), parsed.error().message));
      categories.push_back(std::move(*parsed));
    }
  }

  json out;
  std::vector<stt::Segment> segments;
  analytics::AudioMeasurement m;
  bool stereo = false;
  bool transcribed = false;
  std::int64_t duration_ms = 0;

  if (!transcript_path.empty()) {
    auto text = read_text(transcript_path);
    if (!text) return fail(2, text.error().message);
    bool estimated = false;
    auto segs = parse_transcript(*text, estimated);
    if (!segs) return fail(2, fmt::format("{}: {}", transcript_path, segs.error().message));
    segments = std::move(*segs);
    std::vector<audio::Interval> agent, customer;
    for (const auto& s : segments) {
      (s.speaker == "customer" ? customer : agent).push_back({s.start_ms, s.end_ms});
      duration_ms = std::max(duration_ms, s.end_ms);
    }
    m.source = analytics::MetricSource::kTranscript;
    m.conversation = analytics::compute_conversation(agent, customer, duration_ms);
    transcribed = true;
    out["file"] = transcript_path;
    out["channels"] = 0;
    if (estimated) out["note"] = "segment times estimated from word counts";
  } else {
    auto decoded = audio::decode_file(path);
    if (!decoded) return fail(2, fmt::format("{}: {}", path, decoded.error().message));
    const auto& a = *decoded;
    stereo = a.channels.size() >= 2;
    duration_ms = a.duration_ms();
    std::unique_ptr<stt::LocalEngine> engine;
    if (stt == "local") {
      auto e = stt::LocalEngine::create();
      if (!e) return fail(1, e.error().message);
      engine = std::move(*e);
      transcribed = true;
    }
    if (stereo) {
      auto measured = analytics::measure_stereo(a, *map);
      if (!measured) return fail(2, measured.error().message);
      m = std::move(*measured);
      if (engine) {
        for (auto [role, channel, speech] : {std::tuple{"agent", map->agent_channel, &m.agent_speech},
                                             std::tuple{"customer", map->customer_channel, &m.customer_speech}}) {
          auto segs = engine->transcribe(a.channels[static_cast<std::size_t>(channel)], a.sample_rate, *speech, role);
          if (!segs) return fail(1, segs.error().message);
          segments.insert(segments.end(), segs->begin(), segs->end());
        }
      }
    } else {
      // Mono: speakers only come from a transcript; the offline engine does not diarize,
      // so by the agent rule (greeting, else first speaker) its speech is the agent's.
      const auto mono = audio::mixdown(a);
      const auto activity = audio::detect_voice(mono, a.sample_rate);
      if (engine) {
        auto segs = engine->transcribe(mono, a.sample_rate, activity.speech, "agent");
        if (!segs) return fail(1, segs.error().message);
        segments = std::move(*segs);
        std::vector<audio::Interval> agent;
        for (const auto& s : segments) agent.push_back({s.start_ms, s.end_ms});
        m = analytics::measure_from_segments(a, agent, {});
      } else {
        m = analytics::measure_from_segments(a, {}, {});
        std::int64_t talk = 0;
        for (const auto& i : activity.speech) talk += i.length();
        m.conversation.non_talk_ms = a.duration_ms() - talk;
        out["note"] = "mono recording without a transcript: speech cannot be split by speaker";
      }
    }
    out["file"] = path;
    out["format"] = audio::format_name(a.format);
    out["codec"] = a.codec;
    out["sample_rate"] = a.sample_rate;
    out["channels"] = a.channels.size();
  }
  std::stable_sort(segments.begin(), segments.end(),
                   [](const stt::Segment& x, const stt::Segment& y) { return x.start_ms < y.start_ms; });

  // Built-in analyzers.
  std::vector<analytics::TranscriptSegment> ts;
  for (const auto& s : segments) {
    ts.push_back({s.speaker == "customer" ? analytics::Role::kCustomer : analytics::Role::kAgent, s.start_ms, s.end_ms, s.text});
  }
  const analytics::SentimentAnalyzer analyzer(*lexicon);
  const auto tl = analytics::sentiment_timeline(ts, duration_ms, analyzer);
  const auto& c = m.conversation;
  const auto speed = analytics::talk_speed(ts, c.agent.talk_ms, c.customer.talk_ms);
  analytics::CallFacts facts;
  facts.duration_ms = duration_ms;
  facts.segments = ts;
  facts.segment_sentiment = tl.segment;
  facts.silences = c.silences;
  facts.agent_interruption_ms = c.agent.interruption_ms;
  facts.customer_interruption_ms = c.customer.interruption_ms;
  json cats = json::array();
  std::vector<std::string> matched;
  for (const auto& cat : categories) {
    if (auto hit = analytics::match_category(cat, facts)) {
      json spans = json::array();
      for (const auto& sp : hit->spans) spans.push_back({{"start_ms", sp.start_ms}, {"end_ms", sp.end_ms}});
      cats.push_back({{"name", cat.name}, {"spans", spans}});
      matched.push_back(cat.name);
    }
  }
  std::optional<double> last_customer;
  for (std::size_t i = ts.size(); i-- > 0;) {
    if (ts[i].role == analytics::Role::kCustomer) {
      last_customer = tl.segment[i];
      break;
    }
  }
  const auto summary = analytics::summarize(ts);
  const auto outcome = analytics::guess_outcome(ts, last_customer);
  const auto escalation = analytics::detect_escalation(ts, tl, matched);

  auto speaker = [&](const char* role, const analytics::SpeakerMetrics& s, const audio::Loudness& l,
                     const std::optional<double>& wpm, const analytics::SpeakerSentiment& sent) {
    json q = json::array();
    for (const auto& v : sent.quarter) q.push_back(opt2(v));
    json j{{"talk_ms", s.talk_ms},
           {"interruptions", s.interruptions},
           {"interruption_ms", s.interruption_ms},
           {"longest_turn_ms", s.longest_turn_ms},
           {"words_per_minute", transcribed ? opt2(wpm) : json(nullptr)},
           {"sentiment", opt2(sent.call)},
           {"sentiment_quarters", q}};
    if (l.frames > 0) {
      j["loudness_mean_dbfs"] = round2(l.mean_dbfs);
      j["loudness_peak_dbfs"] = round2(l.peak_dbfs);
    } else {
      j["loudness_mean_dbfs"] = nullptr;
      j["loudness_peak_dbfs"] = nullptr;
    }
    (void)role;
    return j;
  };
  out["duration_ms"] = duration_ms;
  out["source"] = analytics::source_name(m.source);
  out["stt"] = transcript_path.empty() ? stt : "transcript";
  out["agent_talk_ratio"] = round2(c.agent_talk_ratio);
  out["agent_talk_share_of_call"] = round2(c.agent_talk_share_of_call);
  out["non_talk_ms"] = c.non_talk_ms;
  out["overtalk_ms"] = c.overtalk_ms;
  out["interactivity"] = round2(c.interactivity);
  out["patience_ms"] = round2(c.patience_ms);
  out["agent_questions_per_hour"] = opt2(speed.agent_questions_per_hour);
  out["silences"] = json::array();
  for (const auto& s : c.silences) out["silences"].push_back({{"start_ms", s.start_ms}, {"end_ms", s.end_ms}});
  out["speakers"] = {{"agent", speaker("agent", c.agent, m.loudness.agent, speed.agent_wpm, tl.agent)},
                     {"customer", speaker("customer", c.customer, m.loudness.customer, speed.customer_wpm, tl.customer)}};
  out["sentiment"] = {{"agent", opt2(tl.agent.call)}, {"customer", opt2(tl.customer.call)},
                      {"customer_change", opt2(tl.customer_change)}};
  json pii_counts = json::object();
  out["segments"] = json::array();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    const auto found = analytics::find_pii(s.text);
    for (const auto& f : found) pii_counts[std::string(analytics::pii_name(f.type))] = pii_counts.value(std::string(analytics::pii_name(f.type)), 0) + 1;
    out["segments"].push_back({{"speaker", s.speaker},
                               {"start_ms", s.start_ms},
                               {"end_ms", s.end_ms},
                               {"text", s.text},
                               {"redacted_text", analytics::redact(s.text, found)},
                               {"sentiment", round2(tl.segment[i])},
                               {"confidence", round2(s.confidence)}});
  }
  out["pii"] = pii_counts;
  out["categories"] = cats;
  out["summary"] = summary.text;
  out["outcome"] = {{"guess", outcome.outcome}, {"evidence", outcome.evidence}};
  out["escalation"] = escalation.escalate ? json{{"reason", escalation.reason}, {"severity", escalation.high ? "high" : "medium"}}
                                          : json(nullptr);

  if (json_out) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{}: {:.1f} s, {} channel(s); metrics from the {}\n", out["file"].get<std::string>(),
                           static_cast<double>(duration_ms) / 1000.0, out["channels"].get<std::size_t>(),
                           analytics::source_name(m.source));
  std::cout << fmt::format("  talk: agent {:.1f} s, customer {:.1f} s (agent ratio {:.0f}%), non-talk {:.1f} s, overtalk {:.1f} s\n",
                           static_cast<double>(c.agent.talk_ms) / 1000.0, static_cast<double>(c.customer.talk_ms) / 1000.0,
                           c.agent_talk_ratio * 100, static_cast<double>(c.non_talk_ms) / 1000.0,
                           static_cast<double>(c.overtalk_ms) / 1000.0);
  std::cout << fmt::format("  interruptions: by agent {}, by customer {}; interactivity {:.1f}/min; patience {:.0f} ms\n",
                           c.agent.interruptions, c.customer.interruptions, c.interactivity, c.patience_ms);
  if (tl.customer.call) std::cout << fmt::format("  customer sentiment {:+.2f}\n", *tl.customer.call);
  for (const auto& s : c.silences) {
    std::cout << fmt::format("  silence {:.1f}-{:.1f} s\n", static_cast<double>(s.start_ms) / 1000.0,
                             static_cast<double>(s.end_ms) / 1000.0);
  }
  for (const auto& name : matched) std::cout << fmt::format("  category: {}\n", name);
  if (!summary.text.empty()) std::cout << fmt::format("  summary: {}\n", summary.text);
  std::cout << fmt::format("  outcome: {}\n", outcome.outcome);
  if (escalation.escalate) std::cout << fmt::format("  escalation: {}\n", escalation.reason);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    std::cout << fmt::format("  [{:>7.1f}s] {:<8} {:+.2f}  {}\n", static_cast<double>(s.start_ms) / 1000.0, s.speaker,
                             tl.segment[i], out["segments"][i]["redacted_text"].get<std::string>());
  }
  return 0;
}

}  // namespace earshot::cli

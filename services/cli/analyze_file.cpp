// `earshot analyze-file AUDIO | --transcript FILE`: decode, measure, transcribe and analyse
// one recording (or a transcript) in-process, with no services running.
#include "analyze_file.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/analytics/categories.hpp"
#include "earshot/analytics/pii.hpp"
#include "earshot/analytics/summary.hpp"
#include "earshot/analytics/transcript.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/llm/providers.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/stt/local_engine.hpp"
#include "earshot/stt/provider_config.hpp"
#include "earshot/stt/speakers.hpp"

namespace earshot::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kUsage =
    "Usage: earshot analyze-file AUDIO [--stereo-map agent,customer|customer,agent]\n"
    "                            [--stt local|none|sarvam|deepgram|openai|whisper_cpp [--stt-url URL]] [--json] "
    "[--lexicon FILE] [--categories FILE]\n"
    "       earshot analyze-file --transcript FILE [--json] [--lexicon FILE] [--categories FILE]\n"
    "       ... [--scorecard FILE] [--llm ollama|openai|bedrock --llm-model M [--llm-url URL]\n"
    "            [--llm-region R] [--agents FILE]]\n\n"
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
    "--scorecard FILE scores the call: {\"questions\": [...]} as in the metrics document (rule,\n"
    "metric and agent answers). --llm runs the default LLM agents (or those of --agents FILE:\n"
    "[{\"name\", \"prompt_template\", \"output_schema\"}]) on the redacted transcript against the\n"
    "provider: --llm-url (default: Ollama http://127.0.0.1:11434, OpenAI https://api.openai.com,\n"
    "Bedrock by region), keys from EARSHOT_OPENAI_API_KEY or AWS_ACCESS_KEY_ID /\n"
    "AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN]; the report gains \"agents\".\n"
    "A speech provider (--stt sarvam|deepgram|openai|whisper_cpp) gets the file as it is, at its\n"
    "public endpoint or --stt-url, with the key in EARSHOT_STT_API_KEY.\n"
    "A file that cannot be analysed exits 2 with the reason on stderr.\n";

bool is_provider(const std::string& stt) {
  return stt == "sarvam" || stt == "deepgram" || stt == "openai" || stt == "whisper_cpp";
}

// The file through a speech provider (one job, waited for here), speakers mapped to roles by
// the channel map (stereo) or the greeting rule (diarized mono).
Result<std::vector<stt::Segment>> provider_segments(const std::string& provider, const std::string& url,
                                                    const std::string& path, const audio::AudioBuffer& a,
                                                    const analytics::ChannelMap& map) {
  json cfg{{"provider", provider}};
  if (!url.empty()) cfg["base_url"] = url;
  if (const char* key = std::getenv("EARSHOT_STT_API_KEY"); key != nullptr && *key != '\0') cfg["api_key"] = key;
  auto config = stt::parse_provider_config(cfg.dump());
  if (!config) return std::unexpected(config.error());
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  http::CurlHttpClient client;
  auto made = stt::make_provider(*config, client, SystemClock::instance());
  if (!made) return std::unexpected(made.error());
  const bool stereo = a.channels.size() >= 2;
  stt::SttJob job;
  job.audio = bytes.str();
  job.channels = static_cast<int>(a.channels.size());
  job.duration = std::chrono::milliseconds(a.duration_ms());
  job.separate_channels = stereo;
  job.diarize = !stereo;
  std::promise<Result<stt::Transcript>> promise;
  auto future = promise.get_future();
  (*made)->transcribe(std::move(job), [&promise](Result<stt::Transcript> t) { promise.set_value(std::move(t)); });
  auto t = future.get();
  client.shutdown();
  if (!t) return std::unexpected(t.error());
  stt::SpeakerMapping mapping;
  mapping.agent_on_left = map.agent_channel == 0;
  stt::map_speakers(*t, mapping);
  return std::move(t->segments);
}

double round2(double v) {
  return std::round(v * 100.0) / 100.0;
}
json opt2(const std::optional<double>& v) {
  return v ? json(round2(*v)) : json(nullptr);
}

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
    if (j.is_discarded() || !j.is_array())
      return make_error(ErrorCode::kInvalidArgument, "transcript is not a JSON array of segments");
    for (std::size_t i = 0; i < j.size(); ++i) {
      const auto& s = j[i];
      if (!s.is_object() || !s.contains("speaker") || !s["speaker"].is_string() || !s.contains("text") ||
          !s["text"].is_string()) {
        return make_error(ErrorCode::kInvalidArgument, fmt::format("segment {} needs string speaker and text", i));
      }
      auto role = role_of(s["speaker"].get<std::string>());
      if (!role)
        return make_error(ErrorCode::kInvalidArgument, fmt::format("segment {}: speaker must be agent or customer", i));
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
      if (!role)
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("line {}: expected \"agent: ...\" or \"customer: ...\"", n));
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
  std::string path, transcript_path, lexicon_path, categories_path, scorecard_path;
  std::string llm_provider, llm_model, llm_url, llm_region = "us-east-1", agents_path;
  std::string map_text = "agent,customer";
  std::string stt = "local";
  std::string stt_url;
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
    } else if (a == "--stt-url" && has_value) {
      stt_url = args[++i];
    } else if (a == "--transcript" && has_value) {
      transcript_path = args[++i];
    } else if (a == "--lexicon" && has_value) {
      lexicon_path = args[++i];
    } else if (a == "--categories" && has_value) {
      categories_path = args[++i];
    } else if (a == "--scorecard" && has_value) {
      scorecard_path = args[++i];
    } else if (a == "--llm" && has_value) {
      llm_provider = args[++i];
    } else if (a == "--llm-model" && has_value) {
      llm_model = args[++i];
    } else if (a == "--llm-url" && has_value) {
      llm_url = args[++i];
    } else if (a == "--llm-region" && has_value) {
      llm_region = args[++i];
    } else if (a == "--agents" && has_value) {
      agents_path = args[++i];
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
  if (stt != "local" && stt != "none" && !is_provider(stt)) {
    std::cerr << fmt::format(
        "earshot analyze-file: --stt {}: expected local, none, sarvam, deepgram, openai or whisper_cpp\n", stt);
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
      if (!parsed)
        return fail(2,
                    fmt::format("{}: {}: {}", categories_path, c["name"].get<std::string>(), parsed.error().message));
      categories.push_back(std::move(*parsed));
    }
  }

  std::optional<analytics::Scorecard> scorecard;
  if (!scorecard_path.empty()) {
    auto text = read_text(scorecard_path);
    if (!text) return fail(2, text.error().message);
    auto card = analytics::parse_scorecard("scorecard", *text);
    if (!card) return fail(2, fmt::format("{}: {}", scorecard_path, card.error().message));
    scorecard = std::move(*card);
  }
  // LLM agents: the provider and the agents, checked before the slow part.
  std::vector<pipeline::DefaultAgent> agent_defs;
  std::optional<llm::ProviderSpec> llm_spec;
  std::map<std::string, std::string> llm_secrets;
  if (!llm_provider.empty()) {
    json chain_entry{{"provider", llm_provider}, {"model", llm_model}};
    if (!llm_url.empty()) chain_entry["base_url"] = llm_url;
    chain_entry["region"] = llm_region;
    auto chain = llm::parse_llm_chain(json::array({chain_entry}).dump());
    if (!chain) return fail(2, fmt::format("--llm: {}", chain.error().message));
    llm_spec = chain->front();
    for (auto [env, key] :
         {std::pair{"EARSHOT_OPENAI_API_KEY", "openai_api_key"}, std::pair{"AWS_ACCESS_KEY_ID", "aws_access_key_id"},
          std::pair{"AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"},
          std::pair{"AWS_SESSION_TOKEN", "aws_session_token"}}) {
      if (const char* v = std::getenv(env); v != nullptr && *v != '\0') llm_secrets[key] = v;
    }
    if (agents_path.empty()) {
      agent_defs = pipeline::default_agents();
    } else {
      auto text = read_text(agents_path);
      if (!text) return fail(2, text.error().message);
      auto j = json::parse(*text, nullptr, false);
      if (!j.is_array())
        return fail(2, fmt::format("{}: expected [{{\"name\", \"prompt_template\", \"output_schema\"}}]", agents_path));
      for (const auto& a : j) {
        if (!a.is_object() || !a.contains("name") || !a["name"].is_string() || !a.contains("prompt_template") ||
            !a["prompt_template"].is_string() || !a.contains("output_schema") || !a["output_schema"].is_object()) {
          return fail(2, fmt::format("{}: every agent needs a name, a prompt_template and an output_schema object",
                                     agents_path));
        }
        agent_defs.push_back({a["name"], a["prompt_template"], a["output_schema"].dump()});
      }
    }
  } else if (!llm_model.empty() || !llm_url.empty() || !agents_path.empty()) {
    return fail(2, "--llm-model, --llm-url and --agents need --llm");
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
    std::optional<std::vector<stt::Segment>> remote;
    if (is_provider(stt)) {
      auto segs = provider_segments(stt, stt_url, path, a, *map);
      if (!segs) return fail(1, fmt::format("--stt {}: {}", stt, segs.error().message));
      remote = std::move(*segs);
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
      if (remote) segments = std::move(*remote);
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
      } else if (remote) {
        segments = std::move(*remote);
        std::vector<audio::Interval> agent, customer;
        for (const auto& s : segments) {
          if (s.speaker == "agent") agent.push_back({s.start_ms, s.end_ms});
          if (s.speaker == "customer") customer.push_back({s.start_ms, s.end_ms});
        }
        m = analytics::measure_from_segments(a, agent, customer);
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
    ts.push_back(
        {s.speaker == "customer" ? analytics::Role::kCustomer : analytics::Role::kAgent, s.start_ms, s.end_ms, s.text});
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
  auto escalation = analytics::detect_escalation(ts, tl, matched);

  // Metrics by name (for scorecards and the agents' {{metrics}}).
  std::map<std::string, double> metric_values{{"agent_talk_ratio", c.agent_talk_ratio},
                                              {"non_talk_ms", static_cast<double>(c.non_talk_ms)},
                                              {"overtalk_ms", static_cast<double>(c.overtalk_ms)},
                                              {"interactivity_per_min", c.interactivity},
                                              {"patience_ms", c.patience_ms},
                                              {"longest_monologue_ms", static_cast<double>(c.agent.longest_turn_ms)},
                                              {"agent_interruptions", static_cast<double>(c.agent.interruptions)}};
  auto put_metric = [&](const char* name, const std::optional<double>& v) {
    if (v) metric_values[name] = *v;
  };
  put_metric("customer_sentiment", tl.customer.call);
  put_metric("agent_sentiment", tl.agent.call);
  put_metric("sentiment_change", tl.customer_change);
  put_metric("agent_wpm", speed.agent_wpm);
  put_metric("customer_wpm", speed.customer_wpm);
  put_metric("question_rate_per_hour", speed.agent_questions_per_hour);

  // LLM agents on the redacted transcript, all at once.
  std::map<std::string, std::string> agent_outputs;
  json agents_out = json::object();
  if (llm_spec) {
    std::vector<analytics::TranscriptSegment> redacted;
    for (const auto& s : ts)
      redacted.push_back({s.role, s.start_ms, s.end_ms, analytics::redact(s.text, analytics::find_pii(s.text))});
    http::CurlHttpClient client;
    auto provider = llm::make_chat_provider(*llm_spec, llm_secrets, {}, client, SystemClock::instance());
    if (!provider) return fail(2, fmt::format("--llm: {}", provider.error().message));
    pipeline::BusinessLlm business;
    business.chain.push_back(provider->get());
    Metrics registry("cli", "", "");
    pipeline::LlmSettings settings;
    pipeline::LlmAgents runner(nullptr, registry, SystemClock::instance(), settings);
    std::vector<llm::AgentConfig> configs;
    for (const auto& d : agent_defs) {
      storage::AgentConfig sc;
      sc.name = d.name;
      sc.kind = storage::AgentKind::kLlm;
      sc.prompt_template = d.prompt_template;
      sc.output_schema_json = d.output_schema;
      configs.push_back(runner.to_agent(sc));
    }
    storage::CallRecord call;
    call.external_id = out["file"].get<std::string>();
    call.duration_ms = duration_ms;
    const auto input = pipeline::agent_input(redacted, call, json(metric_values), "{}");
    const auto results = runner.run(business, configs, input, std::chrono::minutes(10));
    client.shutdown();
    for (const auto& r : results) {
      json a{{"ok", r.ok},
             {"provider", r.provider},
             {"latency_ms", r.latency.count()},
             {"repaired", r.repaired},
             {"transcript_trimmed", r.transcript_trimmed}};
      if (r.ok) {
        a["output"] = json::parse(r.output, nullptr, false);
        agent_outputs[r.agent] = r.output;
        if (a["output"].is_object() && a["output"].value("escalate", false)) {
          const auto& o = a["output"];
          escalation.reason += (escalation.escalate ? "; " : "") +
                               fmt::format("agent {}: {}", r.agent,
                                           o.contains("escalation_reason") && o["escalation_reason"].is_string()
                                               ? o["escalation_reason"].get<std::string>()
                                               : std::string("escalation requested"));
          escalation.escalate = true;
        }
      } else {
        a["error"] = r.failure_reason;
      }
      agents_out[r.agent] = std::move(a);
    }
  }
  json qa = nullptr;
  if (scorecard) {
    const auto r = analytics::score_call(*scorecard, facts, metric_values, agent_outputs);
    json answers = json::array();
    for (const auto& a : r.answers)
      answers.push_back({{"id", a.id}, {"answer", analytics::answer_name(a.answer)}, {"weight", a.weight}});
    qa = {{"score", opt2(r.score)}, {"answers", answers}};
  }

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
  out["speakers"] = {
      {"agent", speaker("agent", c.agent, m.loudness.agent, speed.agent_wpm, tl.agent)},
      {"customer", speaker("customer", c.customer, m.loudness.customer, speed.customer_wpm, tl.customer)}};
  out["sentiment"] = {{"agent", opt2(tl.agent.call)},
                      {"customer", opt2(tl.customer.call)},
                      {"customer_change", opt2(tl.customer_change)}};
  json pii_counts = json::object();
  out["segments"] = json::array();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    const auto found = analytics::find_pii(s.text);
    for (const auto& f : found)
      pii_counts[std::string(analytics::pii_name(f.type))] =
          pii_counts.value(std::string(analytics::pii_name(f.type)), 0) + 1;
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
  out["qa"] = qa;
  if (llm_spec) out["agents"] = agents_out;
  out["escalation"] = escalation.escalate
                          ? json{{"reason", escalation.reason}, {"severity", escalation.high ? "high" : "medium"}}
                          : json(nullptr);

  if (json_out) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{}: {:.1f} s, {} channel(s); metrics from the {}\n", out["file"].get<std::string>(),
                           static_cast<double>(duration_ms) / 1000.0, out["channels"].get<std::size_t>(),
                           analytics::source_name(m.source));
  std::cout << fmt::format(
      "  talk: agent {:.1f} s, customer {:.1f} s (agent ratio {:.0f}%), non-talk {:.1f} s, overtalk {:.1f} s\n",
      static_cast<double>(c.agent.talk_ms) / 1000.0, static_cast<double>(c.customer.talk_ms) / 1000.0,
      c.agent_talk_ratio * 100, static_cast<double>(c.non_talk_ms) / 1000.0,
      static_cast<double>(c.overtalk_ms) / 1000.0);
  std::cout << fmt::format(
      "  interruptions: by agent {}, by customer {}; interactivity {:.1f}/min; patience {:.0f} ms\n",
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
  if (!qa.is_null()) std::cout << fmt::format("  qa score: {}\n", qa["score"].dump());
  for (const auto& [name, a] : agents_out.items()) {
    std::cout << fmt::format("  agent {}: {}\n", name,
                             a["ok"].get<bool>() ? a["output"].dump() : "FAILED: " + a["error"].get<std::string>());
  }
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    std::cout << fmt::format("  [{:>7.1f}s] {:<8} {:+.2f}  {}\n", static_cast<double>(s.start_ms) / 1000.0, s.speaker,
                             tl.segment[i], out["segments"][i]["redacted_text"].get<std::string>());
  }
  return 0;
}

}  // namespace earshot::cli

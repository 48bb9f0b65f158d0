// `earshot analyze-file AUDIO | --transcript FILE`: decode, measure, transcribe and analyse
// one recording (or a transcript) in-process, with no services running.
#include "analyze_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <expected>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/analytics/categories.hpp"
#include "earshot/analytics/language.hpp"
#include "earshot/analytics/transcript.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/audio/diarize.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/llm/providers.hpp"
#include "earshot/pipeline/builtin_analyzers.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"

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
        s.end_ms = t + static_cast<std::int64_t>(std::max(1, stt::count_words(s.text))) * 400;
      }
      t = s.end_ms + 300;
    }
  }
  return out;
}

bool is_provider(const std::string& stt) {
  return stt == "sarvam" || stt == "deepgram" || stt == "openai" || stt == "whisper_cpp";
}

struct Options {
  std::string path, transcript_path, lexicon_path, categories_path, scorecard_path;
  std::string llm_provider, llm_model, llm_url, llm_region = "us-east-1", agents_path;
  std::string map_text = "agent,customer";
  std::string stt = "local";
  std::string stt_url;
  bool json_out = false;
};

// Why the command stops: the exit code and the one-line reason for stderr.
struct Stop {
  int code = 2;
  std::string why;
};
template <typename T>
using Step = std::expected<T, Stop>;
std::unexpected<Stop> stop(int code, std::string why) {
  return std::unexpected(Stop{code, std::move(why)});
}

// The command line; an exit code when the command ends here (help, usage errors).
std::optional<int> parse_options(std::span<char*> args, Options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a(args[i]);
    const bool has_value = i + 1 < args.size();
    const std::pair<std::string_view, std::string*> valued[] = {
        {"--stereo-map", &o.map_text},      {"--stt", &o.stt},
        {"--stt-url", &o.stt_url},          {"--transcript", &o.transcript_path},
        {"--lexicon", &o.lexicon_path},     {"--categories", &o.categories_path},
        {"--scorecard", &o.scorecard_path}, {"--llm", &o.llm_provider},
        {"--llm-model", &o.llm_model},      {"--llm-url", &o.llm_url},
        {"--llm-region", &o.llm_region},    {"--agents", &o.agents_path}};
    const auto* option =
        std::find_if(std::begin(valued), std::end(valued), [&](const auto& v) { return v.first == a; });
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--json") {
      o.json_out = true;
    } else if (option != std::end(valued) && has_value) {
      *option->second = args[++i];
    } else if (!a.starts_with("--") && o.path.empty()) {
      o.path = std::string(a);
    } else {
      std::cerr << fmt::format("earshot analyze-file: unexpected argument '{}'\n{}", a, kUsage);
      return 2;
    }
  }
  if (o.path.empty() == o.transcript_path.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  return std::nullopt;
}

// What the analyzers get besides the call: loaded before the slow part so mistakes surface at once.
struct Inputs {
  std::optional<analytics::SentimentLexicon> lexicon;
  std::vector<analytics::Category> categories;
  std::optional<analytics::Scorecard> scorecard;
  std::optional<llm::ProviderSpec> llm_spec;  // --llm
  std::map<std::string, std::string> llm_secrets;
  std::vector<pipeline::DefaultAgent> agents;
};

Step<std::vector<analytics::Category>> load_categories(const std::string& path) {
  std::vector<analytics::Category> categories;
  auto text = read_text(path);
  if (!text) return stop(2, text.error().message);
  auto j = json::parse(*text, nullptr, false);
  if (!j.is_array()) return stop(2, fmt::format("{}: expected [{{\"name\", \"rules\"}}]", path));
  for (const auto& c : j) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("rules")) {
      return stop(2, fmt::format("{}: every category needs a name and rules", path));
    }
    auto parsed = analytics::parse_category(c["name"], c["rules"].dump());
    if (!parsed) return stop(2, fmt::format("{}: {}: {}", path, c["name"].get<std::string>(), parsed.error().message));
    categories.push_back(std::move(*parsed));
  }
  return categories;
}

Step<std::vector<pipeline::DefaultAgent>> load_agents(const std::string& path) {
  if (path.empty()) return pipeline::default_agents();
  std::vector<pipeline::DefaultAgent> agents;
  auto text = read_text(path);
  if (!text) return stop(2, text.error().message);
  auto j = json::parse(*text, nullptr, false);
  if (!j.is_array())
    return stop(2, fmt::format("{}: expected [{{\"name\", \"prompt_template\", \"output_schema\"}}]", path));
  for (const auto& a : j) {
    if (!a.is_object() || !a.contains("name") || !a["name"].is_string() || !a.contains("prompt_template") ||
        !a["prompt_template"].is_string() || !a.contains("output_schema") || !a["output_schema"].is_object()) {
      return stop(2, fmt::format("{}: every agent needs a name, a prompt_template and an output_schema object", path));
    }
    agents.push_back({a["name"], a["prompt_template"], a["output_schema"].dump()});
  }
  return agents;
}

// The LLM provider (keys from the environment) and the agents.
Status load_llm(const Options& o, Inputs& in) {
  json chain_entry{{"provider", o.llm_provider}, {"model", o.llm_model}};
  if (!o.llm_url.empty()) chain_entry["base_url"] = o.llm_url;
  chain_entry["region"] = o.llm_region;
  auto chain = llm::parse_llm_chain(json::array({chain_entry}).dump());
  if (!chain) return make_error(ErrorCode::kInvalidArgument, fmt::format("--llm: {}", chain.error().message));
  in.llm_spec = chain->front();
  for (auto [env, key] :
       {std::pair{"EARSHOT_OPENAI_API_KEY", "openai_api_key"}, std::pair{"AWS_ACCESS_KEY_ID", "aws_access_key_id"},
        std::pair{"AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"},
        std::pair{"AWS_SESSION_TOKEN", "aws_session_token"}}) {
    if (const char* v = std::getenv(env); v != nullptr && *v != '\0') in.llm_secrets[key] = v;
  }
  return {};
}

Step<Inputs> load_inputs(const Options& o) {
  Inputs in;
  std::string lexicon_path = o.lexicon_path;
  if (lexicon_path.empty()) {
    const char* env = std::getenv("EARSHOT_SENTIMENT_LEXICON");
    lexicon_path = env != nullptr ? env : ".local/assets/vader-1.1.3/vader_lexicon.txt";
  }
  auto lexicon = analytics::SentimentLexicon::load_file(lexicon_path);
  if (!lexicon) return stop(2, lexicon.error().message);
  in.lexicon.emplace(std::move(*lexicon));
  if (!o.categories_path.empty()) {
    auto categories = load_categories(o.categories_path);
    if (!categories) return std::unexpected(categories.error());
    in.categories = std::move(*categories);
  }
  if (!o.scorecard_path.empty()) {
    auto text = read_text(o.scorecard_path);
    if (!text) return stop(2, text.error().message);
    auto card = analytics::parse_scorecard("scorecard", *text);
    if (!card) return stop(2, fmt::format("{}: {}", o.scorecard_path, card.error().message));
    in.scorecard = std::move(*card);
  }
  if (o.llm_provider.empty()) {
    if (!o.llm_model.empty() || !o.llm_url.empty() || !o.agents_path.empty()) {
      return stop(2, "--llm-model, --llm-url and --agents need --llm");
    }
    return in;
  }
  if (auto st = load_llm(o, in); !st) return stop(2, st.error().message);
  auto agents = load_agents(o.agents_path);
  if (!agents) return std::unexpected(agents.error());
  in.agents = std::move(*agents);
  return in;
}

// The call as heard: its segments (speakers "agent" / "customer") and its measurement, with
// the report's description of the input (file, format, channels, notes).
struct Heard {
  std::vector<stt::Segment> segments;
  analytics::AudioMeasurement m;
  std::int64_t duration_ms = 0;
  bool transcribed = false;
  json out;
};

Step<Heard> hear_transcript(const std::string& path) {
  Heard h;
  auto text = read_text(path);
  if (!text) return stop(2, text.error().message);
  bool estimated = false;
  auto segs = parse_transcript(*text, estimated);
  if (!segs) return stop(2, fmt::format("{}: {}", path, segs.error().message));
  h.segments = std::move(*segs);
  std::vector<audio::Interval> agent, customer;
  for (const auto& s : h.segments) {
    (s.speaker == "customer" ? customer : agent).push_back({s.start_ms, s.end_ms});
    h.duration_ms = std::max(h.duration_ms, s.end_ms);
  }
  h.m.source = analytics::MetricSource::kTranscript;
  h.m.conversation = analytics::compute_conversation(agent, customer, h.duration_ms);
  h.transcribed = true;
  h.out["file"] = path;
  h.out["channels"] = 0;
  if (estimated) h.out["note"] = "segment times estimated from word counts";
  return h;
}

// The analyze stage's transcriber for --stt: the offline engine or a speech provider (the
// file as it is, at its public endpoint or --stt-url, the key from EARSHOT_STT_API_KEY).
class SttRun {
 public:
  SttRun() : metrics_("cli", "", ""), providers_(client_, SystemClock::instance(), metrics_) {}
  ~SttRun() { client_.shutdown(); }
  SttRun(const SttRun&) = delete;
  SttRun& operator=(const SttRun&) = delete;

  Result<std::shared_ptr<pipeline::Transcriber>> transcriber(const std::string& stt, const std::string& url) {
    storage::PipelineConfig config;
    config.stt_provider = stt;
    json options = json::object();
    if (!url.empty()) options["base_url"] = url;
    config.stt_options_json = options.dump();
    if (const char* key = std::getenv("EARSHOT_STT_API_KEY"); key != nullptr && *key != '\0') {
      config.secrets["stt_api_key"] = key;
    }
    return providers_.for_config(config);
  }

 private:
  http::CurlHttpClient client_;
  Metrics metrics_;
  pipeline::ProviderTranscriberFactory providers_;
};

// Speakers told apart on a mono recording (0, 1 or 2): by the transcript's roles, else by
// the measured talk.
int diarized_speakers(const std::vector<stt::Segment>& segments, const analytics::AudioMeasurement& m) {
  std::set<std::string> roles;
  for (const auto& s : segments)
    if (s.speaker == "agent" || s.speaker == "customer") roles.insert(s.speaker);
  if (!segments.empty()) return static_cast<int>(roles.size());
  return (m.conversation.agent.talk_ms > 0 ? 1 : 0) + (m.conversation.customer.talk_ms > 0 ? 1 : 0);
}

Step<Heard> hear_audio(const Options& o, const analytics::ChannelMap& map) {
  Heard h;
  auto decoded = audio::decode_file(o.path);
  if (!decoded) return stop(2, fmt::format("{}: {}", o.path, decoded.error().message));
  const auto& a = *decoded;
  const bool stereo = a.channels.size() >= 2;
  h.duration_ms = a.duration_ms();
  SttRun run;
  std::shared_ptr<pipeline::Transcriber> transcriber;
  if (o.stt != "none") {
    auto t = run.transcriber(o.stt, o.stt_url);
    if (!t)
      return stop(1, is_provider(o.stt) ? fmt::format("--stt {}: {}", o.stt, t.error().message) : t.error().message);
    transcriber = std::move(*t);
    h.transcribed = true;
  }
  std::string encoded;
  pipeline::Transcriber::Input in;
  in.audio = &a;
  in.stereo = stereo;
  in.agent_channel = map.agent_channel;
  in.customer_channel = map.customer_channel;
  auto transcribe = [&]() -> Status {
    if (is_provider(o.stt)) {
      auto bytes = read_text(o.path);
      encoded = bytes ? std::move(*bytes) : std::string();
      in.encoded = encoded;
    }
    auto t = transcriber->transcribe(in);
    if (!t) return std::unexpected(is_provider(o.stt) ? t.error().with_context("--stt " + o.stt) : t.error());
    h.segments = std::move(t->segments);
    return {};
  };
  // A provider hears the file before it is measured; the offline engine needs the speech of
  // each channel first.
  if (transcriber && is_provider(o.stt)) {
    if (auto st = transcribe(); !st) return stop(1, st.error().message);
  }
  if (stereo) {
    auto measured = analytics::measure_stereo(a, map);
    if (!measured) return stop(2, measured.error().message);
    h.m = std::move(*measured);
    in.agent_speech = &h.m.agent_speech;
    in.customer_speech = &h.m.customer_speech;
  }
  if (transcriber && !is_provider(o.stt)) {
    if (auto st = transcribe(); !st) return stop(1, st.error().message);
  }
  if (!stereo && transcriber) {
    h.m = pipeline::measure_by_transcript(a, h.segments);
  } else if (!stereo) {
    // Mono without a transcript: speakers by diarization, the first to speak is the agent.
    const auto d = audio::diarize(audio::mixdown(a), a.sample_rate);
    std::vector<audio::Interval> agent, customer;
    for (const auto& t : d.turns) (t.speaker == 0 ? agent : customer).push_back({t.start_ms, t.end_ms});
    h.m = analytics::measure_from_segments(a, std::move(agent), std::move(customer));
    h.out["note"] = "mono recording without a transcript: speakers by diarization, the first to speak is the agent";
  }
  if (!stereo) h.out["diarized_speakers"] = diarized_speakers(h.segments, h.m);
  h.out["file"] = o.path;
  h.out["format"] = audio::format_name(a.format);
  h.out["codec"] = a.codec;
  h.out["sample_rate"] = a.sample_rate;
  h.out["channels"] = a.channels.size();
  return h;
}

// What the built-in analyzers find (the analyze stage's own functions over the same inputs).
struct Findings {
  std::vector<analytics::TranscriptSegment> ts;
  analytics::SentimentTimeline tl;
  analytics::TalkSpeed speed;
  analytics::CallFacts facts;
  pipeline::PiiScan pii;
  json categories = json::array();
  std::vector<std::string> matched;
  std::map<std::string, double> metric_values;  // by name, for scorecards and the agents' {{metrics}}
};

Findings analyze(const Heard& h, const Inputs& in, const analytics::SentimentLexicon& lexicon) {
  Findings f;
  for (const auto& s : h.segments) {
    f.ts.push_back(
        {s.speaker == "customer" ? analytics::Role::kCustomer : analytics::Role::kAgent, s.start_ms, s.end_ms, s.text});
  }
  const analytics::SentimentAnalyzer analyzer(lexicon);
  f.tl = analytics::sentiment_timeline(f.ts, h.duration_ms, analyzer);
  const auto& c = h.m.conversation;
  f.speed = analytics::talk_speed(f.ts, c.agent.talk_ms, c.customer.talk_ms);
  f.pii = pipeline::scan_pii(f.ts);
  f.facts.duration_ms = h.duration_ms;
  f.facts.segments = f.ts;
  f.facts.segment_sentiment = f.tl.segment;
  f.facts.silences = c.silences;
  f.facts.agent_interruption_ms = c.agent.interruption_ms;
  f.facts.customer_interruption_ms = c.customer.interruption_ms;
  for (const auto& cat : in.categories) {
    if (auto hit = analytics::match_category(cat, f.facts)) {
      json spans = json::array();
      for (const auto& sp : hit->spans) spans.push_back({{"start_ms", sp.start_ms}, {"end_ms", sp.end_ms}});
      f.categories.push_back({{"name", cat.name}, {"spans", spans}});
      f.matched.push_back(cat.name);
    }
  }
  f.metric_values = {{"agent_talk_ratio", c.agent_talk_ratio},
                     {"non_talk_ms", static_cast<double>(c.non_talk_ms)},
                     {"overtalk_ms", static_cast<double>(c.overtalk_ms)},
                     {"interactivity_per_min", c.interactivity},
                     {"patience_ms", c.patience_ms},
                     {"longest_monologue_ms", static_cast<double>(c.agent.longest_turn_ms)},
                     {"agent_interruptions", static_cast<double>(c.agent.interruptions)}};
  for (const auto& [name, v] :
       {std::pair{"customer_sentiment", f.tl.customer.call}, std::pair{"agent_sentiment", f.tl.agent.call},
        std::pair{"sentiment_change", f.tl.customer_change}, std::pair{"agent_wpm", f.speed.agent_wpm},
        std::pair{"customer_wpm", f.speed.customer_wpm},
        std::pair{"question_rate_per_hour", f.speed.agent_questions_per_hour}}) {
    if (v) f.metric_values[name] = *v;
  }
  return f;
}

// The LLM agents on the redacted transcript, all at once, as the analyze stage runs them.
struct AgentRun {
  json report = json::object();                // by agent: ok, provider, latency, output or error
  std::map<std::string, std::string> outputs;  // the ok ones, for scorecards
  std::vector<std::string> escalations;        // "agent NAME: reason"
};

Step<AgentRun> run_agents(const Inputs& in, const llm::ProviderSpec& spec, const Findings& f, const std::string& file,
                          std::int64_t duration_ms) {
  AgentRun run;
  http::CurlHttpClient client;
  auto provider = llm::make_chat_provider(spec, in.llm_secrets, {}, client, SystemClock::instance());
  if (!provider) return stop(2, fmt::format("--llm: {}", provider.error().message));
  pipeline::BusinessLlm business;
  business.chain.push_back(provider->get());
  Metrics registry("cli", "", "");
  pipeline::LlmSettings settings;
  pipeline::LlmAgents runner(nullptr, registry, SystemClock::instance(), settings);
  std::vector<llm::AgentConfig> configs;
  for (const auto& d : in.agents) {
    storage::AgentConfig sc;
    sc.name = d.name;
    sc.kind = storage::AgentKind::kLlm;
    sc.prompt_template = d.prompt_template;
    sc.output_schema_json = d.output_schema;
    configs.push_back(runner.to_agent(sc));
  }
  storage::CallRecord call;
  call.external_id = file;
  call.duration_ms = duration_ms;
  const auto input = pipeline::agent_input(f.pii.redacted, call, json(f.metric_values), "{}");
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
      run.outputs[r.agent] = r.output;
      if (auto why = pipeline::agent_escalation(r.agent, r.output)) run.escalations.push_back(std::move(*why));
    } else {
      a["error"] = r.failure_reason;
    }
    run.report[r.agent] = std::move(a);
  }
  return run;
}

json speaker_json(const analytics::SpeakerMetrics& s, const audio::Loudness& l, const std::optional<double>& wpm,
                  const analytics::SpeakerSentiment& sent, bool transcribed) {
  json q = json::array();
  for (const auto& v : sent.quarter) q.push_back(opt2(v));
  json j{{"talk_ms", s.talk_ms},
         {"interruptions", s.interruptions},
         {"interruption_ms", s.interruption_ms},
         {"longest_turn_ms", s.longest_turn_ms},
         {"words_per_minute", transcribed ? opt2(wpm) : json(nullptr)},
         {"sentiment", opt2(sent.call)},
         {"sentiment_quarters", q}};
  const bool heard = l.frames > 0;
  j["loudness_mean_dbfs"] = heard ? json(round2(l.mean_dbfs)) : json(nullptr);
  j["loudness_peak_dbfs"] = heard ? json(round2(l.peak_dbfs)) : json(nullptr);
  return j;
}

// The JSON report (also what the text form prints from).
json report(const Options& o, Heard& h, const Findings& f, const pipeline::CallConclusion& verdict, const json& qa,
            const std::optional<AgentRun>& agents) {
  json out = std::move(h.out);
  const auto& c = h.m.conversation;
  out["duration_ms"] = h.duration_ms;
  out["source"] = analytics::source_name(h.m.source);
  out["stt"] = o.transcript_path.empty() ? o.stt : "transcript";
  {  // The offline detector's language of the text (docs/analyze.md, Language): the
     // analyzers below read English only.
    std::string text;
    for (const auto& s : h.segments) text.append(s.text).push_back('\n');
    const auto lang = analytics::detect_language(text);
    out["language"] = {{"tag", lang.tag.empty() ? json(nullptr) : json(lang.tag)}, {"evidence", lang.evidence}};
  }
  out["agent_talk_ratio"] = round2(c.agent_talk_ratio);
  out["agent_talk_share_of_call"] = round2(c.agent_talk_share_of_call);
  out["non_talk_ms"] = c.non_talk_ms;
  out["overtalk_ms"] = c.overtalk_ms;
  out["interruptions_from"] = c.interruptions_inferred ? "turn_taking" : "overlap";
  out["interactivity"] = round2(c.interactivity);
  out["patience_ms"] = round2(c.patience_ms);
  out["agent_questions_per_hour"] = opt2(f.speed.agent_questions_per_hour);
  out["silences"] = json::array();
  for (const auto& s : c.silences) out["silences"].push_back({{"start_ms", s.start_ms}, {"end_ms", s.end_ms}});
  out["speakers"] = {{"agent", speaker_json(c.agent, h.m.loudness.agent, f.speed.agent_wpm, f.tl.agent, h.transcribed)},
                     {"customer", speaker_json(c.customer, h.m.loudness.customer, f.speed.customer_wpm, f.tl.customer,
                                               h.transcribed)}};
  out["sentiment"] = {{"agent", opt2(f.tl.agent.call)},
                      {"customer", opt2(f.tl.customer.call)},
                      {"customer_change", opt2(f.tl.customer_change)}};
  out["segments"] = json::array();
  for (std::size_t i = 0; i < h.segments.size(); ++i) {
    const auto& s = h.segments[i];
    json pii = json::array();  // spans only: the text stays in "text"
    for (const auto& p : f.pii.findings[i]) {
      pii.push_back({{"type", analytics::pii_name(p.type)},
                     {"begin", p.begin},
                     {"end", p.end},
                     {"confidence", round2(p.confidence)}});
    }
    out["segments"].push_back({{"speaker", s.speaker},
                               {"start_ms", s.start_ms},
                               {"end_ms", s.end_ms},
                               {"text", s.text},
                               {"redacted_text", f.pii.redacted[i].text},
                               {"pii", pii},
                               {"sentiment", round2(f.tl.segment[i])},
                               {"confidence", round2(s.confidence)}});
  }
  out["pii"] = f.pii.counts;
  out["categories"] = f.categories;
  out["summary"] = verdict.summary.text;
  out["outcome"] = {{"guess", verdict.outcome.outcome}, {"evidence", verdict.outcome.evidence}};
  out["qa"] = qa;
  if (agents) out["agents"] = agents->report;
  const auto& e = verdict.escalation;
  out["escalation"] = e.escalate ? json{{"reason", e.reason}, {"severity", e.high ? "high" : "medium"}} : json(nullptr);
  return out;
}

void print_text(const json& out, const Heard& h, const Findings& f, const pipeline::CallConclusion& verdict) {
  const auto& c = h.m.conversation;
  const auto& tl = f.tl;
  std::cout << fmt::format("{}: {:.1f} s, {} channel(s); metrics from the {}\n", out["file"].get<std::string>(),
                           static_cast<double>(h.duration_ms) / 1000.0, out["channels"].get<std::size_t>(),
                           analytics::source_name(h.m.source));
  if (out.contains("diarized_speakers")) {
    std::cout << fmt::format("  mono: {} speaker(s) told apart by diarization\n", out["diarized_speakers"].get<int>());
  }
  std::cout << fmt::format(
      "  talk: agent {:.1f} s, customer {:.1f} s (agent ratio {:.0f}%), non-talk {:.1f} s, overtalk {:.1f} s\n",
      static_cast<double>(c.agent.talk_ms) / 1000.0, static_cast<double>(c.customer.talk_ms) / 1000.0,
      c.agent_talk_ratio * 100, static_cast<double>(c.non_talk_ms) / 1000.0,
      static_cast<double>(c.overtalk_ms) / 1000.0);
  std::cout << fmt::format(
      "  interruptions: by agent {}, by customer {}{}; interactivity {:.1f}/min; patience {:.0f} ms\n",
      c.agent.interruptions, c.customer.interruptions, c.interruptions_inferred ? " (inferred from turn-taking)" : "",
      c.interactivity, c.patience_ms);
  if (tl.customer.call) std::cout << fmt::format("  customer sentiment {:+.2f}\n", *tl.customer.call);
  for (const auto& s : c.silences) {
    std::cout << fmt::format("  silence {:.1f}-{:.1f} s\n", static_cast<double>(s.start_ms) / 1000.0,
                             static_cast<double>(s.end_ms) / 1000.0);
  }
  for (const auto& name : f.matched) std::cout << fmt::format("  category: {}\n", name);
  if (!verdict.summary.text.empty()) std::cout << fmt::format("  summary: {}\n", verdict.summary.text);
  std::cout << fmt::format("  outcome: {}\n", verdict.outcome.outcome);
  if (verdict.escalation.escalate) std::cout << fmt::format("  escalation: {}\n", verdict.escalation.reason);
  if (!out["qa"].is_null()) std::cout << fmt::format("  qa score: {}\n", out["qa"]["score"].dump());
  if (out.contains("agents")) {
    for (const auto& [name, a] : out["agents"].items()) {
      std::cout << fmt::format("  agent {}: {}\n", name,
                               a["ok"].get<bool>() ? a["output"].dump() : "FAILED: " + a["error"].get<std::string>());
    }
  }
  for (std::size_t i = 0; i < h.segments.size(); ++i) {
    const auto& s = h.segments[i];
    std::cout << fmt::format("  [{:>7.1f}s] {:<8} {:+.2f}  {}\n", static_cast<double>(s.start_ms) / 1000.0, s.speaker,
                             tl.segment[i], out["segments"][i]["redacted_text"].get<std::string>());
  }
}

json score(const Inputs& in, const Findings& f, const std::optional<AgentRun>& agents) {
  if (!in.scorecard) return nullptr;
  const auto r = analytics::score_call(*in.scorecard, f.facts, f.metric_values,
                                       agents ? agents->outputs : std::map<std::string, std::string>{});
  json answers = json::array();
  for (const auto& a : r.answers)
    answers.push_back({{"id", a.id}, {"answer", analytics::answer_name(a.answer)}, {"weight", a.weight}});
  return {{"score", opt2(r.score)}, {"answers", answers}};
}

Step<int> run(const Options& o, const analytics::ChannelMap& map) {
  auto in = load_inputs(o);
  if (!in) return std::unexpected(in.error());
  auto heard = o.transcript_path.empty() ? hear_audio(o, map) : hear_transcript(o.transcript_path);
  if (!heard) return std::unexpected(heard.error());
  auto& h = *heard;
  std::stable_sort(h.segments.begin(), h.segments.end(),
                   [](const stt::Segment& x, const stt::Segment& y) { return x.start_ms < y.start_ms; });
  const auto& lexicon = in->lexicon;
  if (!lexicon) return stop(2, "no sentiment lexicon loaded");
  const auto f = analyze(h, *in, *lexicon);
  std::optional<AgentRun> agents;
  if (const auto& spec = in->llm_spec; spec) {
    auto ran = run_agents(*in, *spec, f, h.out["file"].get<std::string>(), h.duration_ms);
    if (!ran) return std::unexpected(ran.error());
    agents = std::move(*ran);
  }
  const auto verdict =
      pipeline::conclude_call(f.ts, f.tl, f.matched, agents ? agents->escalations : std::vector<std::string>{});
  const auto out = report(o, h, f, verdict, score(*in, f, agents), agents);
  if (o.json_out) {
    std::cout << out.dump(2) << "\n";
  } else {
    print_text(out, h, f, verdict);
  }
  return 0;
}

}  // namespace

int analyze_file(std::span<char*> args) {
  Options o;
  if (auto code = parse_options(args, o)) return *code;
  const auto map = analytics::ChannelMap::parse(o.map_text);
  if (!map) {
    std::cerr << "earshot analyze-file: --stereo-map must be agent,customer or customer,agent\n";
    return 2;
  }
  if (o.stt != "local" && o.stt != "none" && !is_provider(o.stt)) {
    std::cerr << fmt::format(
        "earshot analyze-file: --stt {}: expected local, none, sarvam, deepgram, openai or whisper_cpp\n", o.stt);
    return 2;
  }
  auto code = run(o, *map);
  if (!code) {
    std::cerr << fmt::format("earshot analyze-file: {}\n", code.error().why);
    return code.error().code;
  }
  return *code;
}

}  // namespace earshot::cli

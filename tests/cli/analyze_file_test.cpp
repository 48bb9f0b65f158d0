// `earshot analyze-file` end to end on files written at test time: a stereo WAV, the same
// call as MP3 (named .wav) and as mu-law, mono, silent and broken files.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "audio_fixture.hpp"
#include "fakes/llm/fake_llm.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "process.hpp"

namespace earshot::testing {
namespace {

// The CLI with the pinned lexicon that scripts/fetch-assets.sh installs.
std::string cli() {
  return std::string("EARSHOT_SENTIMENT_LEXICON=") + EARSHOT_SOURCE_DIR +
         "/.local/assets/vader-1.1.3/vader_lexicon.txt " + EARSHOT_BIN_DIR + "/earshot";
}

// Word error rate of `hyp` against `ref` (lower-case words, Levenshtein over words).
double wer(const std::string& ref, const std::string& hyp) {
  auto words = [](std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::vector<std::string> out;
    std::string w;
    for (char ch : s) {
      if (std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '\'') {
        w += ch;
      } else if (!w.empty()) {
        out.push_back(w);
        w.clear();
      }
    }
    if (!w.empty()) out.push_back(w);
    return out;
  };
  const auto r = words(ref), h = words(hyp);
  std::vector<std::vector<std::size_t>> d(r.size() + 1, std::vector<std::size_t>(h.size() + 1));
  for (std::size_t i = 0; i <= r.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= h.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= r.size(); ++i) {
    for (std::size_t j = 1; j <= h.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1)});
    }
  }
  return r.empty() ? 0.0 : static_cast<double>(d[r.size()][h.size()]) / static_cast<double>(r.size());
}

const std::string kAgent1 = "Thank you for calling the support line how can I help you today";
const std::string kCustomer1 = "My internet connection has been very slow since last Monday";
const std::string kAgent2 = "I can check the line for you and send a technician tomorrow morning";
const std::string kCustomer2 = "That would be great thank you very much";

struct Written {
  std::string path;
  TestCall call;
};

// A wideband (16 kHz) stereo call; the offline engine's model is a 16 kHz one, and its
// accuracy on 8 kHz telephone audio is measured in bench/stt instead.
Written stereo_call(int r = 16000) {
  std::vector<Placement> parts;
  parts.push_back({0, 400, speak(kAgent1, "slt", r)});
  parts.push_back({1, parts.back().end_ms(r) + 700, speak(kCustomer1, "rms", r)});
  parts.push_back({0, parts.back().end_ms(r) + 3600, speak(kAgent2, "slt", r)});
  parts.push_back({1, parts.back().end_ms(r) + 500, speak(kCustomer2, "rms", r)});
  auto call = build_call(2, parts.back().end_ms(r) + 1000, parts, r);
  auto path = temp_path("call.wav");
  write_wav16(path, call.channels, r);
  return {path, call};
}

nlohmann::json run_json(const std::string& args) {
  auto r = run_command(cli() + " analyze-file " + args + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

std::string transcript_of(const nlohmann::json& j, const std::string& role) {
  std::string out;
  for (const auto& s : j["segments"]) {
    if (s["speaker"] == role) out += s["text"].get<std::string>() + " ";
  }
  return out;
}

TEST(AnalyzeFile, StereoWavGivesAudioMetricsAndAnAccurateLocalTranscript) {
  auto w = stereo_call();
  auto j = run_json(w.path);
  EXPECT_EQ(j["source"], "audio");
  EXPECT_EQ(j["interruptions_from"], "overlap");
  EXPECT_EQ(j["channels"], 2);
  EXPECT_EQ(j["duration_ms"], w.call.duration_ms());
  std::int64_t agent_truth = 0, customer_truth = 0;
  for (const auto& i : w.call.truth[0]) agent_truth += i.length();
  for (const auto& i : w.call.truth[1]) customer_truth += i.length();
  EXPECT_NEAR(j["speakers"]["agent"]["talk_ms"].get<double>(), static_cast<double>(agent_truth), agent_truth * 0.05);
  EXPECT_NEAR(j["speakers"]["customer"]["talk_ms"].get<double>(), static_cast<double>(customer_truth),
              customer_truth * 0.05);
  ASSERT_EQ(j["silences"].size(), 1u) << j["silences"].dump();  // the 3.6 s pause
  EXPECT_GT(j["speakers"]["agent"]["words_per_minute"].get<double>(), 80);
  EXPECT_LT(j["speakers"]["agent"]["words_per_minute"].get<double>(), 300);
  EXPECT_LT(j["speakers"]["agent"]["loudness_mean_dbfs"].get<double>(), 0);

  const double agent_wer = wer(kAgent1 + " " + kAgent2, transcript_of(j, "agent"));
  const double customer_wer = wer(kCustomer1 + " " + kCustomer2, transcript_of(j, "customer"));
  RecordProperty("agent_wer", std::to_string(agent_wer));
  RecordProperty("customer_wer", std::to_string(customer_wer));
  EXPECT_LT(agent_wer, 0.15) << transcript_of(j, "agent");
  EXPECT_LT(customer_wer, 0.15) << transcript_of(j, "customer");
  ASSERT_FALSE(j["segments"].empty());
  EXPECT_EQ(j["segments"][0]["speaker"], "agent");  // segments in time order

  // The swapped map swaps the roles.
  auto swapped = run_json(w.path + " --stereo-map customer,agent --stt none");
  EXPECT_EQ(swapped["speakers"]["customer"]["talk_ms"], j["speakers"]["agent"]["talk_ms"]);
  EXPECT_TRUE(swapped["segments"].empty());
  std::remove(w.path.c_str());
}

TEST(AnalyzeFile, Mp3NamedWavAndMulawGiveTheSameMeasurements) {
  auto w = stereo_call(8000);
  auto base = run_json(w.path + " --stt none");
  const auto mp3 = temp_path("really-an-mp3.wav");
  const auto ulaw = temp_path("ulaw.wav");
  ASSERT_EQ(run_command(fmt::format("lame --quiet -b 64 {} {}", w.path, mp3)).exit_code, 0);
  ASSERT_EQ(run_command(fmt::format("sox {} -e u-law {}", w.path, ulaw)).exit_code, 0);
  auto m = run_json(mp3 + " --stt none");
  auto u = run_json(ulaw + " --stt none");
  EXPECT_EQ(m["format"], "mp3");
  EXPECT_EQ(u["codec"], "ulaw");
  for (const auto* j : {&m, &u}) {
    for (const char* role : {"agent", "customer"}) {
      EXPECT_NEAR((*j)["speakers"][role]["talk_ms"].get<double>(), base["speakers"][role]["talk_ms"].get<double>(),
                  base["speakers"][role]["talk_ms"].get<double>() * 0.05)
          << role;
    }
  }
  std::remove(w.path.c_str());
  std::remove(mp3.c_str());
  std::remove(ulaw.c_str());
}

TEST(AnalyzeFile, MonoUsesTheTranscriptAsSource) {
  auto clip = speak(kAgent1, "slt", 16000);
  auto call = build_call(1, static_cast<std::int64_t>(clip.size()) / 16 + 1500, {{0, 500, clip}}, 16000);
  const auto path = temp_path("mono.wav");
  write_wav16(path, call.channels, 16000);
  auto j = run_json(path);
  EXPECT_EQ(j["source"], "transcript");
  EXPECT_EQ(j["channels"], 1);
  EXPECT_LT(wer(kAgent1, transcript_of(j, "agent")), 0.15);
  std::remove(path.c_str());
}

// Two voices on one channel (16 kHz, the engine's band): diarized into agent and customer,
// roles by the greeting, talk times from the diarized turns; without a transcript the same
// split, the first to speak as the agent.
TEST(AnalyzeFile, MonoTwoVoicesAreDiarizedIntoAgentAndCustomer) {
  const int r = 16000;
  std::vector<Placement> parts;
  parts.push_back({0, 400, speak(kAgent1, "slt", r)});
  parts.push_back({0, parts.back().end_ms(r) + 700, speak(kCustomer1, "rms", r)});
  parts.push_back({0, parts.back().end_ms(r) + 900, speak(kAgent2, "slt", r)});
  parts.push_back({0, parts.back().end_ms(r) + 500, speak(kCustomer2, "rms", r)});
  auto call = build_call(1, parts.back().end_ms(r) + 1000, parts, r);
  const auto path = temp_path("mono2.wav");
  write_wav16(path, call.channels, r);
  const double agent_truth = static_cast<double>(call.truth[0][0].length() + call.truth[0][2].length());
  const double customer_truth = static_cast<double>(call.truth[0][1].length() + call.truth[0][3].length());
  for (const char* stt : {"local", "none"}) {
    auto j = run_json(path + " --stt " + stt);
    EXPECT_EQ(j["diarized_speakers"], 2) << stt;
    // One speaker at a time: interruptions by turn-taking; every turn here waits for a pause.
    EXPECT_EQ(j["interruptions_from"], "turn_taking") << stt;
    EXPECT_EQ(j["speakers"]["customer"]["interruptions"], 0) << stt;
    EXPECT_EQ(j["speakers"]["agent"]["interruptions"], 0) << stt;
    EXPECT_NEAR(j["speakers"]["agent"]["talk_ms"].get<double>(), agent_truth, agent_truth * 0.1) << stt;
    EXPECT_NEAR(j["speakers"]["customer"]["talk_ms"].get<double>(), customer_truth, customer_truth * 0.1) << stt;
    if (std::string(stt) == "local") {
      EXPECT_EQ(j["source"], "transcript");
      EXPECT_LT(wer(fmt::format("{} {}", kAgent1, kAgent2), transcript_of(j, "agent")), 0.15)
          << transcript_of(j, "agent");
      EXPECT_LT(wer(fmt::format("{} {}", kCustomer1, kCustomer2), transcript_of(j, "customer")), 0.15)
          << transcript_of(j, "customer");
    }
  }
  std::remove(path.c_str());
}

TEST(AnalyzeFile, SilentFileIsAValidCallWithZeroTalk) {
  const auto path = temp_path("silent.wav");
  write_wav16(path, std::vector<std::vector<float>>(2, std::vector<float>(80000, 0.0f)), 8000);
  auto j = run_json(path);
  EXPECT_EQ(j["speakers"]["agent"]["talk_ms"], 0);
  EXPECT_EQ(j["speakers"]["customer"]["talk_ms"], 0);
  EXPECT_EQ(j["non_talk_ms"], 10000);
  EXPECT_TRUE(j["segments"].empty());
  std::remove(path.c_str());
}

// --stt with a speech provider: the file goes to the (fake) provider, its channels come back
// as agent and customer; a refused key exits 1 with the provider's reason on one line.
TEST(AnalyzeFile, SpeechProviderTranscribesTheFileAndARefusalExitsWithTheReason) {
  FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  auto w = stereo_call(8000);
  const std::string run = "EARSHOT_STT_API_KEY=" + fake.api_key() + " " + cli() + " analyze-file " + w.path +
                          " --stt deepgram --stt-url " + fake.base_url();
  auto r = run_command(run + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.output;
  EXPECT_EQ(j["source"], "audio");
  std::set<std::string> speakers;
  for (const auto& s : j["segments"]) speakers.insert(s["speaker"].get<std::string>());
  EXPECT_EQ(speakers, (std::set<std::string>{"agent", "customer"})) << j["segments"].dump();
  EXPECT_EQ(fake.count("/v1/listen"), 1);
  EXPECT_NE(fake.last_query().find("multichannel=true"), std::string::npos) << fake.last_query();

  fake.fail_next(FailurePlan::of(1, FailureKind::kAuth));
  r = run_command(run);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("authentication failed"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  std::remove(w.path.c_str());
}

TEST(AnalyzeFile, BadFilesExit2WithOneLineReason) {
  const auto text = temp_path("notes.wav");
  std::ofstream(text) << "definitely not audio";
  auto r = run_command(cli() + " analyze-file " + text);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("not a recognised audio file"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  const auto empty = temp_path("empty.mp3");
  std::ofstream(empty).flush();
  r = run_command(cli() + " analyze-file " + empty);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("empty"), std::string::npos) << r.output;
  r = run_command(cli() + " analyze-file /no/such/file.wav");
  EXPECT_EQ(r.exit_code, 2);
  r = run_command(cli() + " analyze-file " + text + " --stereo-map left,right");
  EXPECT_EQ(r.exit_code, 2);
  std::remove(text.c_str());
  std::remove(empty.c_str());
}

TEST(AnalyzeFile, TranscriptFileRunsEveryTranscriptAnalyzer) {
  const auto path = temp_path("call.json");
  std::ofstream(path) << R"([
    {"speaker": "agent", "start_ms": 0, "end_ms": 4000, "text": "Thank you for calling, how can I help?"},
    {"speaker": "customer", "start_ms": 4500, "end_ms": 11000, "text": "I am furious, my card 4111 1111 1111 1111 was charged twice and I want a refund."},
    {"speaker": "agent", "start_ms": 16000, "end_ms": 21000, "text": "I am sorry. I have issued a full refund to your card."},
    {"speaker": "customer", "start_ms": 21500, "end_ms": 24000, "text": "Great, thank you so much!"}
  ])";
  const auto cats = temp_path("cats.json");
  std::ofstream(cats)
      << R"([{"name": "Refund", "rules": [{"type": "transcript", "phrases": ["refund"], "speaker": "customer"}]},
                            {"name": "Hold", "rules": [{"type": "non_talk", "min_ms": 4000}]},
                            {"name": "Lawyer", "rules": [{"type": "transcript", "phrases": ["lawyer"]}]}])";
  auto j = run_json("--transcript " + path + " --categories " + cats);
  EXPECT_EQ(j["source"], "transcript");
  EXPECT_EQ(j["language"]["tag"], "en");
  EXPECT_EQ(j["duration_ms"], 24000);
  EXPECT_EQ(j["speakers"]["agent"]["talk_ms"], 9000);
  EXPECT_EQ(j["speakers"]["customer"]["talk_ms"], 9000);
  ASSERT_EQ(j["silences"].size(), 1u);  // 11-16 s
  EXPECT_EQ(j["silences"][0]["start_ms"], 11000);
  ASSERT_EQ(j["segments"].size(), 4u);
  EXPECT_LT(j["segments"][1]["sentiment"].get<double>(), -0.3);
  EXPECT_GT(j["segments"][3]["sentiment"].get<double>(), 0.5);
  EXPECT_EQ(j["segments"][1]["redacted_text"].get<std::string>().find("4111"), std::string::npos);
  EXPECT_NE(j["segments"][1]["redacted_text"].get<std::string>().find("[CARD]"), std::string::npos);
  EXPECT_EQ(j["pii"]["card"], 1);
  ASSERT_EQ(j["segments"][1]["pii"].size(), 1u);
  EXPECT_EQ(j["segments"][1]["pii"][0]["type"], "card");
  EXPECT_EQ(j["segments"][1]["pii"][0]["begin"], 22);  // "4111 1111 1111 1111"
  EXPECT_EQ(j["segments"][1]["pii"][0]["end"], 41);
  EXPECT_EQ(j["segments"][1]["pii"][0]["confidence"], 0.99);
  ASSERT_EQ(j["categories"].size(), 2u);
  EXPECT_EQ(j["categories"][0]["name"], "Refund");
  EXPECT_EQ(j["categories"][1]["name"], "Hold");
  EXPECT_EQ(j["outcome"]["guess"], "refunded");
  EXPECT_FALSE(j["summary"].get<std::string>().empty());
  EXPECT_TRUE(j["sentiment"]["customer"].is_number());
  std::remove(path.c_str());
  std::remove(cats.c_str());
}

TEST(AnalyzeFile, PlainLineTranscriptsGetEstimatedTimes) {
  const auto path = temp_path("call.txt");
  std::ofstream(path)
      << "agent: Thank you for calling, how can I help?\ncustomer: I need to cancel my account, get me a supervisor.\n";
  auto j = run_json("--transcript " + path);
  EXPECT_EQ(j["note"], "segment times estimated from word counts");
  ASSERT_EQ(j["segments"].size(), 2u);
  EXPECT_EQ(j["segments"][1]["speaker"], "customer");
  ASSERT_TRUE(j["escalation"].is_object());
  EXPECT_NE(j["escalation"]["reason"].get<std::string>().find("supervisor"), std::string::npos);

  std::ofstream(path) << "boss: hello\n";
  auto r = run_command(cli() + " analyze-file --transcript " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("line 1"), std::string::npos) << r.output;
  std::ofstream(path) << R"([{"speaker": "agent", "start_ms": 500, "end_ms": 100, "text": "x"}])";
  r = run_command(cli() + " analyze-file --transcript " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("segment 0"), std::string::npos) << r.output;
  std::remove(path.c_str());
}

// --llm runs the default agents against the provider (here the fake Ollama), on the redacted
// transcript; a scorecard question answered by an agent's field and an agent's escalation
// count; an agent whose answer stays invalid fails alone.
TEST(AnalyzeFile, LlmAgentsAndScorecardFromATranscript) {
  FakeOllama fake;
  ASSERT_TRUE(fake.start());
  fake.set_reply_for("Task: summary", R"({"summary":"Double charge refunded.","key_points":[]})");
  fake.set_reply_for(
      "Task: issue_outcome",
      R"({"issue":"double charge","outcome":"refunded","action_items":[],"escalate":true,"escalation_reason":"second complaint"})");
  // Every other agent gets the default reply, which does not follow its schema: they fail.
  const auto path = temp_path("llm.json");
  std::ofstream(path) << R"([
    {"speaker": "agent", "start_ms": 0, "end_ms": 4000, "text": "Thank you for calling, how can I help?"},
    {"speaker": "customer", "start_ms": 4500, "end_ms": 11000, "text": "You charged me twice, my email is jo@example.com."},
    {"speaker": "agent", "start_ms": 11500, "end_ms": 16000, "text": "I have refunded the second charge."}
  ])";
  const auto card = temp_path("card.json");
  std::ofstream(card) << R"({"questions": [
    {"id": "refunded", "weight": 1, "answer": {"kind": "agent", "agent": "issue_outcome", "field": "/outcome", "equals": "refunded"}},
    {"id": "greeting", "weight": 1, "answer": {"kind": "rule", "rules": [{"type": "transcript", "phrases": ["thank you for calling"], "speaker": "agent"}]}}]})";
  auto j = run_json("--transcript " + path + " --scorecard " + card + " --llm ollama --llm-model m --llm-url " +
                    fake.base_url());
  ASSERT_TRUE(j["agents"].is_object()) << j.dump();
  EXPECT_EQ(j["agents"].size(), 6u);
  EXPECT_TRUE(j["agents"]["summary"]["ok"].get<bool>());
  EXPECT_EQ(j["agents"]["summary"]["output"]["summary"], "Double charge refunded.");
  EXPECT_EQ(j["agents"]["summary"]["provider"], "ollama:m");
  EXPECT_FALSE(j["agents"]["bant"]["ok"].get<bool>());
  EXPECT_NE(j["agents"]["bant"]["error"].get<std::string>().find("schema validation after one repair"),
            std::string::npos);
  EXPECT_EQ(j["qa"]["score"], 1.0);
  ASSERT_TRUE(j["escalation"].is_object());
  EXPECT_NE(j["escalation"]["reason"].get<std::string>().find("agent issue_outcome: second complaint"),
            std::string::npos);
  EXPECT_EQ(fake.last_body().find("jo@example.com"), std::string::npos);  // agents see the redacted text
  EXPECT_EQ(fake.chat_count(), 2 + 4 * 2);  // the four failing agents were each repaired once

  auto r = run_command(cli() + " analyze-file --transcript " + path + " --llm nope --llm-model m");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("llm_chain[0].provider"), std::string::npos) << r.output;
  fake.stop();
  std::remove(path.c_str());
  std::remove(card.c_str());
}

}  // namespace
}  // namespace earshot::testing

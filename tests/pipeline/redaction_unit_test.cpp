// Redaction (pipeline/redaction.hpp): a finding's byte span mapped to its time range through
// the segment's word timings (or in proportion within the segment when it has none), the
// ranges merged, the recording masked (samples inside a range replaced by the 1 kHz tone,
// every sample outside untouched), a stored transcript redacted; and the analyze stage
// writing the recording's redacted copy to the business's prefix with the redacted
// transcript beside the raw one. Hermetic: the store is a local directory under the test's
// temporary directory; no database, broker or network.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include "analyze_fixture.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/builtin_analyzers.hpp"
#include "earshot/pipeline/redaction.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/agent_configs_fake.hpp"
#include "fakes/storage/analyses_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/category_matches_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/rule_sets_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"
#include "stage_outcome.hpp"

namespace earshot::pipeline {
namespace {

using nlohmann::json;

analytics::PiiFinding finding_of(const std::string& text, const std::string& part) {
  const auto at = text.find(part);
  EXPECT_NE(at, std::string::npos) << part;
  return {analytics::PiiType::kCard, at, at + part.size()};
}

TEST(Redaction, AFindingSpansTheWordsItCoversPlusThePad) {
  TimedSegment s;
  s.start_ms = 10'000;
  s.end_ms = 16'000;
  s.text = "my card is 4111 1111 1111 1111 thanks";
  s.words = {{"my", 10'000, 10'200},   {"card", 10'200, 10'600}, {"is", 10'600, 10'800},   {"4111", 11'000, 11'700},
             {"1111", 11'800, 12'500}, {"1111", 12'600, 13'300}, {"1111", 13'400, 14'100}, {"thanks", 14'500, 15'000}};
  const auto times = finding_times(s, {finding_of(s.text, "4111 1111 1111 1111")});
  ASSERT_EQ(times.size(), 1u);
  EXPECT_EQ(times[0], (TimeRange{11'000 - kRedactionPadMs, 14'100 + kRedactionPadMs}));
  // A finding inside one word covers that word; no pad: exactly its time.
  const auto one = finding_times(s, {finding_of(s.text, "card")}, 0);
  EXPECT_EQ(one, (std::vector<TimeRange>{{10'200, 10'600}}));
}

TEST(Redaction, WordsAreFoundInOrderIgnoringCaseAndPunctuationAroundThem) {
  TimedSegment s;
  s.start_ms = 0;
  s.end_ms = 8'000;
  s.text = "Four one one one, four one one one. Bye";
  // The provider's words are lower case and without the punctuation.
  const char* texts[] = {"four", "one", "one", "one", "four", "one", "one", "one", "bye"};
  for (int i = 0; i < 9; ++i) s.words.push_back({texts[i], i * 800, i * 800 + 700});
  // The second "four one one one" is words 4..7, not the first occurrence of each word.
  const std::string second = "four one one one";
  const auto at = s.text.rfind(second);
  const auto times = finding_times(s, {{analytics::PiiType::kSpokenDigits, at, at + second.size()}}, 0);
  EXPECT_EQ(times, (std::vector<TimeRange>{{4 * 800, 7 * 800 + 700}}));
}

TEST(Redaction, WithoutWordsAFindingIsPlacedInProportionWithinItsSegment) {
  TimedSegment s;
  s.start_ms = 10'000;
  s.end_ms = 20'000;
  s.text = std::string(50, 'a') + "0123456789" + std::string(40, 'b');  // 100 bytes
  const auto times = finding_times(s, {{analytics::PiiType::kPhone, 50, 60}});
  EXPECT_EQ(times, (std::vector<TimeRange>{{15'000 - kRedactionPadMs, 16'000 + kRedactionPadMs}}));
  // Words that are not in the text give no alignment: the same proportional placement.
  s.words = {{"zzz", 10'000, 11'000}, {"yyy", 11'000, 12'000}};
  EXPECT_EQ(finding_times(s, {{analytics::PiiType::kPhone, 50, 60}}), times);
  // The pad never goes below zero.
  TimedSegment early{0, 1'000, "0123456789", {}};
  EXPECT_EQ(finding_times(early, {{analytics::PiiType::kPhone, 0, 5}}),
            (std::vector<TimeRange>{{0, 500 + kRedactionPadMs}}));
}

TEST(Redaction, RangesAreSortedMergedAndEmptyOnesDropped) {
  EXPECT_EQ(merge_ranges({{5'000, 6'000}, {100, 200}, {150, 300}, {300, 400}, {700, 700}, {900, 800}}),
            (std::vector<TimeRange>{{100, 400}, {5'000, 6'000}}));
  EXPECT_TRUE(merge_ranges({}).empty());
}

// A stereo 8 kHz buffer whose every sample is distinct and far from the tone's values.
audio::AudioBuffer ramp(int rate, int channels, std::size_t frames) {
  audio::AudioBuffer a;
  a.sample_rate = rate;
  for (int c = 0; c < channels; ++c) {
    std::vector<float> ch(frames);
    for (std::size_t i = 0; i < frames; ++i) ch[i] = 0.5F + 0.4F * static_cast<float>(i) / static_cast<float>(frames);
    if (c == 1) {
      for (auto& v : ch) v = -v;
    }
    a.channels.push_back(std::move(ch));
  }
  return a;
}

TEST(Redaction, MaskingReplacesOnlyTheSamplesInsideTheRangesWithTheTone) {
  const auto original = ramp(8000, 2, 8000 * 4);  // 4 s
  auto a = original;
  const auto masked = mask_ranges(a, {{1'000, 1'500}, {3'900, 9'000}});
  // [8000, 12000) and [31200, 32000): the second range is cut at the end of the audio.
  EXPECT_EQ(masked, 4000 + 800);
  const double step = 2.0 * std::numbers::pi * kMaskToneHz / 8000.0;
  for (std::size_t c = 0; c < 2; ++c) {
    for (std::size_t i = 0; i < a.frames(); ++i) {
      const bool inside = (i >= 8000 && i < 12000) || i >= 31200;
      if (inside) {
        ASSERT_NEAR(a.channels[c][i], kMaskToneAmplitude * std::sin(step * static_cast<double>(i)), 1e-6)
            << "channel " << c << " frame " << i;
      } else {
        ASSERT_EQ(a.channels[c][i], original.channels[c][i]) << "channel " << c << " frame " << i;
      }
    }
  }
  // 1 kHz at 8 kHz: the tone repeats every 8 samples and peaks at the amplitude.
  float peak = 0;
  for (std::size_t i = 8000; i < 12000; ++i) peak = std::max(peak, std::abs(a.channels[0][i]));
  EXPECT_NEAR(peak, kMaskToneAmplitude, 1e-6);
  // No range, no audio, or a range wholly after the end: nothing changes.
  auto b = original;
  EXPECT_EQ(mask_ranges(b, {}), 0);
  EXPECT_EQ(mask_ranges(b, {{5'000, 6'000}}), 0);
  EXPECT_EQ(b.channels, original.channels);
  audio::AudioBuffer empty;
  EXPECT_EQ(mask_ranges(empty, {{0, 1'000}}), 0);
}

TEST(Redaction, AStoredTranscriptIsRedactedSegmentForSegmentWithoutItsWords) {
  const json segments =
      json::array({{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 2'000}, {"text", "Can I have the card number?"}},
                   {{"speaker", "customer"},
                    {"start_ms", 2'000},
                    {"end_ms", 8'000},
                    {"text", "It is 4111 1111 1111 1111 and my mail is jo@example.com"},
                    {"confidence", 0.9},
                    {"words", json::array({{{"text", "4111"}, {"start_ms", 3'000}, {"end_ms", 3'500}},
                                           {{"text", "1111"}, {"start_ms", 3'600}, {"end_ms", 4'000}},
                                           {{"text", "1111"}, {"start_ms", 4'100}, {"end_ms", 4'500}},
                                           {{"text", "1111"}, {"start_ms", 4'600}, {"end_ms", 5'000}},
                                           {{"text", "jo@example.com"}, {"start_ms", 6'500}, {"end_ms", 7'500}}})}},
                   "not a segment"});
  const auto r = redact_transcript(segments.dump());
  const auto out = json::parse(r.segments_json);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["text"], "Can I have the card number?");
  EXPECT_EQ(out[1]["text"], "It is [CARD] and my mail is [EMAIL]");
  EXPECT_EQ(out[1]["speaker"], "customer");
  EXPECT_EQ(out[1]["confidence"], 0.9);
  EXPECT_FALSE(out[1].contains("words"));
  EXPECT_EQ(r.full_text, "Can I have the card number?\nIt is [CARD] and my mail is [EMAIL]");
  EXPECT_EQ(r.findings, 2u);
  EXPECT_EQ(r.ranges, (std::vector<TimeRange>{{3'000 - kRedactionPadMs, 5'000 + kRedactionPadMs},
                                              {6'500 - kRedactionPadMs, 7'500 + kRedactionPadMs}}));
  // Not an array: nothing.
  EXPECT_EQ(redact_transcript("{}").segments_json, "[]");
  EXPECT_EQ(redact_transcript("garbage").findings, 0u);
}

// A scan already made of the same texts is reused: its findings are what the redaction
// applies. Texts that differ from the scanned ones are scanned afresh.
TEST(Redaction, AScanOfTheSameTextsIsReusedAndADifferentTextIsScannedAgain) {
  const json segments = json::array(
      {{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 2'000}, {"text", "Your email please"}},
       {{"speaker", "customer"}, {"start_ms", 2'000}, {"end_ms", 6'000}, {"text", "It is jo@example.com thanks"}}});
  std::vector<analytics::TranscriptSegment> scanned;
  for (const auto& s : segments) {
    scanned.push_back({s["speaker"] == "customer" ? analytics::Role::kCustomer : analytics::Role::kAgent,
                       s["start_ms"].get<std::int64_t>(), s["end_ms"].get<std::int64_t>(),
                       s["text"].get<std::string>()});
  }
  const auto scan = scan_pii(scanned);
  const auto fresh = redact_transcript(segments.dump());
  const auto reused = redact_transcript(segments.dump(), scanned, scan.findings);
  EXPECT_EQ(reused.segments_json, fresh.segments_json);
  EXPECT_EQ(reused.ranges, fresh.ranges);
  EXPECT_EQ(reused.findings, 1u);
  // The reused findings are the ones applied: a scan that found nothing redacts nothing.
  const std::vector<std::vector<analytics::PiiFinding>> none(2);
  EXPECT_EQ(redact_transcript(segments.dump(), scanned, none).findings, 0u);
  // A scan of other texts (the English of a translated call) is not reused.
  auto english = scanned;
  english[1].text = "It is an address thanks";
  EXPECT_EQ(redact_transcript(segments.dump(), english, none).findings, 1u);
}

// The whole call is read at once, as the labelled PII figures were measured: an answer typed by
// the question before it ("what's the expiry?" / "oh nine twenty seven", "can I have your
// name?" / "Daniela Moreno") is redacted as that type, and each finding keeps its own time.
TEST(Redaction, AnAnswerIsTypedByTheQuestionInTheTurnBefore) {
  const json segments = json::array(
      {{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 2'000}, {"text", "Can I have your name please?"}},
       {{"speaker", "customer"}, {"start_ms", 2'000}, {"end_ms", 4'000}, {"text", "Daniela Moreno."}},
       {{"speaker", "agent"}, {"start_ms", 4'000}, {"end_ms", 6'000}, {"text", "And what's the expiry date?"}},
       {{"speaker", "customer"},
        {"start_ms", 6'000},
        {"end_ms", 9'000},
        {"text", "oh nine twenty seven"},
        {"words", json::array({{{"text", "oh"}, {"start_ms", 6'500}, {"end_ms", 6'700}},
                               {{"text", "nine"}, {"start_ms", 6'750}, {"end_ms", 7'000}},
                               {{"text", "twenty"}, {"start_ms", 7'050}, {"end_ms", 7'400}},
                               {{"text", "seven"}, {"start_ms", 7'450}, {"end_ms", 7'800}}})}}});
  const auto r = redact_transcript(segments.dump());
  const auto out = json::parse(r.segments_json);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1]["text"], "[NAME].");
  EXPECT_EQ(out[3]["text"], "[EXPIRY]");
  ASSERT_EQ(r.located.size(), 2u);
  EXPECT_EQ(r.located[0].finding.type, analytics::PiiType::kPersonName);
  EXPECT_EQ(r.located[0].finding.segment, 1u);
  EXPECT_EQ(r.located[1].finding.type, analytics::PiiType::kExpiry);
  EXPECT_EQ(r.located[1].finding.segment, 3u);
  EXPECT_EQ(r.located[1].time, (TimeRange{6'500, 7'800}));  // the words' own times, unpadded
  // Without the question the same answers are not typed so.
  const auto alone = redact_transcript(json::array({segments[3]}).dump());
  EXPECT_NE(json::parse(alone.segments_json)[0]["text"], "[EXPIRY]");
}

TEST(Redaction, TheConclusionsThatQuoteTheTranscriptAreRedacted) {
  CallConclusion c;
  c.summary.issue = "My number is 415 555 0132";
  c.summary.text = "My number is 415 555 0132. Refunded.";
  c.outcome.evidence = "write to jo@example.com";
  c.escalation.reason = "customer gave 4111 1111 1111 1111 twice";
  redact_conclusion(c);
  EXPECT_EQ(c.summary.issue, "My number is [PHONE]");
  EXPECT_EQ(c.summary.text, "My number is [PHONE]. Refunded.");
  EXPECT_EQ(c.outcome.evidence, "write to [EMAIL]");
  EXPECT_EQ(c.escalation.reason, "customer gave [CARD] twice");
}

// The analyze stage with a store: the recording's redacted copy under the business's prefix,
// masked where the card number was spoken and identical elsewhere; the redacted transcript
// stored beside the raw one for the version analysed.
TEST(AnalyzeRedaction, TheStageWritesTheRedactedCopyAndTranscriptForTheVersionAnalysed) {
  namespace fakes = earshot::testing;
  fakes::FakeClock clock;
  Metrics metrics("analyze-test", "0", "0");
  queue::TopologySettings topology;
  ASSERT_TRUE(topology.resolve());
  fakes::FakeCallRepository calls{&clock};
  fakes::FakeMetricsRepository metrics_repo{calls};
  fakes::FakeProcessingEventRepository events{calls};
  fakes::FakeTranscriptRepository transcripts{calls, metrics_repo, events};
  fakes::FakeAgentConfigRepository agents;
  fakes::FakeRuleSetRepository categories;
  fakes::FakeRuleSetRepository scorecards;
  fakes::FakeCategoryMatchRepository matches{calls};
  fakes::FakeEscalationRepository escalations{calls};
  fakes::FakeAnalysisRepository analyses{calls, escalations};
  AnalyzeStage stage(AnalyzeStageDeps{calls, transcripts, metrics_repo, agents, categories, scorecards, matches,
                                      analyses, events, testing::lexicon(), metrics, clock, topology});
  const auto dir = std::filesystem::path(::testing::TempDir()) / "redaction-unit-store";
  std::filesystem::remove_all(dir);
  objectstore::LocalObjectStore store(dir.string());
  stage.enable_redacted_audio(store);

  // 6 s of a 300 Hz tone at 8 kHz, mono: the card number spoken from 2.0 to 4.0 s.
  audio::AudioBuffer rec;
  rec.sample_rate = 8000;
  rec.channels.emplace_back(8000 * 6);
  for (std::size_t i = 0; i < rec.channels[0].size(); ++i) {
    rec.channels[0][i] =
        0.3F * static_cast<float>(std::sin(2.0 * std::numbers::pi * 300.0 * static_cast<double>(i) / 8000.0));
  }
  const std::string wav = audio::encode_wav_pcm16(rec);
  const auto acme = storage::TenantId::make("acme").value();
  const auto uri =
      store.write("acme/ingest/call-1.wav", std::span(reinterpret_cast<const std::uint8_t*>(wav.data()), wav.size()));
  ASSERT_TRUE(uri) << uri.error().to_string();
  auto in = testing::call_input("call-1", storage::to_timestamp(clock.now()));
  in.audio_uri = *uri;
  in.duration_ms = 6000;
  const json segs =
      json::array({{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 1'500}, {"text", "What is the card number?"}},
                   {{"speaker", "customer"},
                    {"start_ms", 1'800},
                    {"end_ms", 5'000},
                    {"text", "four one one one four one one one"},
                    {"words", json::array({{{"text", "four"}, {"start_ms", 2'000}, {"end_ms", 2'200}},
                                           {{"text", "one"}, {"start_ms", 2'250}, {"end_ms", 2'500}},
                                           {{"text", "one"}, {"start_ms", 2'550}, {"end_ms", 2'800}},
                                           {{"text", "one"}, {"start_ms", 2'850}, {"end_ms", 3'100}},
                                           {{"text", "four"}, {"start_ms", 3'150}, {"end_ms", 3'400}},
                                           {{"text", "one"}, {"start_ms", 3'450}, {"end_ms", 3'650}},
                                           {{"text", "one"}, {"start_ms", 3'700}, {"end_ms", 3'850}},
                                           {{"text", "one"}, {"start_ms", 3'900}, {"end_ms", 4'000}}})}}});
  const auto id = testing::transcribed_call(calls, transcripts, acme, in, segs);
  EXPECT_EQ(testing::next_messages(stage.handle(testing::analyze_message(acme, id))).size(), 1u);

  const auto tr = transcripts.get(acme, id).value();
  ASSERT_TRUE(tr.redacted_segments_json.has_value());
  EXPECT_EQ(json::parse(*tr.redacted_segments_json)[1]["text"], "[DIGITS]");
  EXPECT_TRUE(tr.redaction_current);
  EXPECT_EQ(tr.redacted_audio_uri, "store://acme/redacted/" + std::to_string(id) + ".wav");
  ASSERT_TRUE(store.owned_by(tr.redacted_audio_uri, "acme"));

  // The PII analysis lists the finding with its place and the time it was said.
  std::map<storage::Id, std::string> names;
  const auto configs = agents.list(acme, false).value();
  for (const auto& c : configs) names[c.id] = c.name;
  json pii;
  const auto stored = analyses.list_for_call(acme, id, true).value();
  for (const auto& a : stored) {
    if (names[a.agent_config_id] == "builtin.pii") pii = json::parse(a.output_json);
  }
  ASSERT_TRUE(pii.is_object());
  ASSERT_EQ(pii["findings"].size(), 1u) << pii.dump();
  EXPECT_EQ(pii["findings"][0]["type"], "spoken_digits");
  EXPECT_EQ(pii["findings"][0]["segment"], 1);
  EXPECT_EQ(pii["findings"][0]["begin"], 0);
  EXPECT_EQ(pii["findings"][0]["end"], 33);  // the whole "four one one one four one one one"
  EXPECT_EQ(pii["findings"][0]["start_ms"], 2'000);
  EXPECT_EQ(pii["findings"][0]["end_ms"], 4'000);
  EXPECT_EQ(pii["counts"]["spoken_digits"], 1);

  const auto bytes = store.read(tr.redacted_audio_uri, 1 << 20).value();
  const auto copy = audio::decode(bytes).value();
  ASSERT_EQ(copy.sample_rate, 8000);
  ASSERT_EQ(copy.channels.size(), 1u);
  ASSERT_EQ(copy.frames(), rec.frames());
  const auto first = static_cast<std::size_t>((2'000 - kRedactionPadMs) * 8);
  const auto last = static_cast<std::size_t>((4'000 + kRedactionPadMs) * 8);
  const double step = 2.0 * std::numbers::pi * kMaskToneHz / 8000.0;
  for (std::size_t i = 0; i < copy.frames(); ++i) {
    const float want = i >= first && i < last
                           ? static_cast<float>(kMaskToneAmplitude * std::sin(step * static_cast<double>(i)))
                           : rec.channels[0][i];
    ASSERT_NEAR(copy.channels[0][i], want, 1.0 / 16384) << "frame " << i;  // PCM16 rounding
  }

  // A rewritten transcript: the stored redaction is not this version's any more.
  storage::Transcript again = tr;
  again.redacted_segments_json.reset();
  ASSERT_TRUE(transcripts.put(acme, again));
  const auto now = transcripts.get(acme, id).value();
  EXPECT_FALSE(now.redacted_segments_json.has_value());
  EXPECT_FALSE(now.redaction_current);
  EXPECT_EQ(now.redacted_audio_uri, tr.redacted_audio_uri);  // still the call's object to delete
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace earshot::pipeline

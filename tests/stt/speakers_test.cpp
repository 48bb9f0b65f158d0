#include "earshot/stt/speakers.hpp"

#include <gtest/gtest.h>

namespace earshot::stt {
namespace {

Segment seg(std::string speaker, std::int64_t start, std::int64_t end, std::string text) {
  Segment s;
  s.speaker = std::move(speaker);
  s.start_ms = start;
  s.end_ms = end;
  s.text = std::move(text);
  return s;
}

std::vector<std::string> speakers(const Transcript& t) {
  std::vector<std::string> out;
  for (const auto& s : t.segments) out.push_back(s.speaker);
  return out;
}

TEST(MapSpeakers, PerChannelAgentOnTheLeftByDefault) {
  Transcript t;
  t.segments = {seg("ch1", 0, 1000, "hello?"), seg("ch0", 1200, 3000, "thanks for calling")};
  map_speakers(t);
  EXPECT_EQ(speakers(t), (std::vector<std::string>{"customer", "agent"}));
}

TEST(MapSpeakers, PerChannelSwapped) {
  Transcript t;
  t.segments = {seg("ch1", 0, 1000, "thank you for calling"), seg("ch0", 1200, 3000, "hi")};
  SpeakerMapping m;
  m.agent_on_left = false;
  map_speakers(t, m);
  EXPECT_EQ(speakers(t), (std::vector<std::string>{"agent", "customer"}));
}

TEST(MapSpeakers, DiarizedGreetingWinsOverSpeakingFirst) {
  Transcript t;
  t.diarized = true;
  t.segments = {seg("SPEAKER_00", 0, 1000, "Hello?"),
                seg("SPEAKER_01", 1200, 4000, "THANK YOU, for calling Acme. How can I help?"),
                seg("SPEAKER_00", 4500, 8000, "My order is late.")};
  auto applied = map_speakers(t);
  EXPECT_EQ(speakers(t), (std::vector<std::string>{"customer", "agent", "customer"}));
  EXPECT_EQ(applied["SPEAKER_01"], "agent");
}

TEST(MapSpeakers, GreetingPhrasesAreConfigurable) {
  Transcript t;
  t.segments = {seg("0", 0, 1000, "namaste, acme support"), seg("1", 1200, 4000, "hi, thank you for calling me back")};
  SpeakerMapping m;
  m.greeting_phrases = {"acme support"};
  map_speakers(t, m);
  EXPECT_EQ(speakers(t), (std::vector<std::string>{"agent", "customer"}));
}

TEST(MapSpeakers, WithoutAGreetingTheFirstSpeakerIsTheAgent) {
  Transcript t;
  t.segments = {seg("1", 500, 1000, "yes hello"), seg("0", 1200, 4000, "hi there")};
  map_speakers(t);
  EXPECT_EQ(speakers(t), (std::vector<std::string>{"agent", "customer"}));
}

TEST(MapSpeakers, ThirdSpeakerIsKeptAsOtherAndCustomerIsTheLongestTalker) {
  Transcript t;
  t.segments = {seg("A", 0, 2000, "thank you for calling"), seg("C", 2100, 2400, "this call is recorded"),
                seg("B", 2500, 9000, "I need help with a very long story"), seg("A", 9100, 10000, "sure")};
  auto applied = map_speakers(t);
  EXPECT_EQ(speakers(t), (std::vector<std::string>{"agent", "other", "customer", "agent"}));
  EXPECT_EQ(applied.size(), 3U);
}

TEST(MapSpeakers, UnknownStaysUnknown) {
  Transcript t;
  t.segments = {seg("unknown", 0, 1000, "how can I help")};
  map_speakers(t);
  EXPECT_EQ(speakers(t), (std::vector<std::string>{"unknown"}));
}

}  // namespace
}  // namespace earshot::stt

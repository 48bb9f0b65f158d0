#pragma once
// What every speech-to-text provider returns, whatever its wire format.

#include <cstdint>
#include <string>
#include <vector>

namespace earshot::stt {

struct Word {
  std::string text;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  double confidence = 0;
};

struct Segment {
  std::string speaker;  // "agent" / "customer" once mapped; provider label before that
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;
  double confidence = 0;
  std::vector<Word> words;
};

struct Transcript {
  std::string provider;
  std::string language;
  std::vector<Segment> segments;  // by start time
  bool diarized = false;          // speakers come from diarization (vs one channel each)
};

// Whitespace-separated word count of a text.
[[nodiscard]] int count_words(const std::string& text);

}  // namespace earshot::stt

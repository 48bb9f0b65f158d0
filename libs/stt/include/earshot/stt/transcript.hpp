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
  // The language the provider's answer reported (Sarvam `language_code`, Deepgram
  // `detected_language`, Whisper `language`, as sent); empty when it reported none.
  std::string reported_language{};
  std::vector<Segment> segments;  // by start time
  bool diarized = false;          // speakers come from diarization (vs one channel each)
  // Set by the pipeline: where `language` came from ("provider", "detected", "configured");
  // an English rendering of `segments` (same speakers and times) when one was made, and who
  // made it ("sarvam").
  std::string language_source{};
  std::vector<Segment> english{};
  std::string english_source{};
};

// Whitespace-separated word count of a text.
[[nodiscard]] int count_words(const std::string& text);

}  // namespace earshot::stt

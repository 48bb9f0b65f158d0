#pragma once
// The redacted form of a call: its transcript with every PII finding replaced by its
// placeholder (analytics::find_pii_in_turns over the whole call, so a cue in one turn types
// the answer in the next, then analytics::redact segment by segment) and the time ranges of the
// findings in the recording, from which the recording's redacted copy is made (each range
// replaced by a tone). The analyze stage stores both (docs/analyze.md, "Redaction"); the
// gateway redacts on the fly with the same functions when a call has none stored yet.
//
// Pure (no I/O) and thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/analytics/pii.hpp"
#include "earshot/analytics/transcript.hpp"
#include "earshot/audio/audio.hpp"

namespace earshot::pipeline {

struct TimedWord {
  std::string text;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};

// A transcript segment as redaction reads it: its time range, its text and, when the speech
// provider gave them, its words with their times.
struct TimedSegment {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;
  std::vector<TimedWord> words;
};

struct TimeRange {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  friend bool operator==(const TimeRange&, const TimeRange&) = default;
};

// Padding added on each side of a finding's time range (word times are approximate).
inline constexpr std::int64_t kRedactionPadMs = 150;

// The time range of each finding of `segment` (byte spans into segment.text), padded by
// `pad_ms` and kept inside the segment's range widened by the pad (never below 0). The words
// are found in the text in order, ignoring case; a finding covered by found
// words spans from the first such word's start to the last one's end. A finding no found word
// covers (a segment without words, or words that are not in the text) is placed in
// proportion to its byte offsets within the segment's time range.
[[nodiscard]] std::vector<TimeRange> finding_times(const TimedSegment& segment,
                                                   const std::vector<analytics::PiiFinding>& findings,
                                                   std::int64_t pad_ms = kRedactionPadMs);

// Sorted, overlapping and touching ranges merged, empty ones dropped.
[[nodiscard]] std::vector<TimeRange> merge_ranges(std::vector<TimeRange> ranges);

// The tone that replaces redacted speech: 1 kHz at -20 dBFS (amplitude 0.1), audible as a
// beep so a listener knows something was removed.
inline constexpr double kMaskToneHz = 1000.0;
inline constexpr float kMaskToneAmplitude = 0.1F;

// Replaces the samples of every channel inside each range ([start, end) in milliseconds,
// clamped to the audio) by the tone; samples outside the ranges are left untouched. Returns
// how many frames were replaced.
std::int64_t mask_ranges(audio::AudioBuffer& audio, const std::vector<TimeRange>& ranges);

// A finding with the time it was said (unpadded; the segment index counts the segments kept).
struct LocatedFinding {
  analytics::PiiFinding finding;
  TimeRange time;
};

// A stored transcript (segments JSON: [{speaker, start_ms, end_ms, text, words?, ...}])
// redacted: the same segments with `text` redacted and `words` left out, the redacted full
// text (texts joined by '\n', as transcripts.full_text is), the findings' merged and padded
// time ranges, and every finding with its own time. Entries that are not objects are
// dropped; text that is not a JSON array gives no segments.
struct RedactedTranscript {
  std::string segments_json = "[]";
  std::string full_text;
  std::vector<TimeRange> ranges;
  std::size_t findings = 0;
  std::vector<LocatedFinding> located;
};
[[nodiscard]] RedactedTranscript redact_transcript(std::string_view segments_json);
// The same, reusing the findings of a scan already made of `scanned` (scan_pii's per-segment
// findings) when the stored segments' texts are exactly those: an English call is scanned
// once, not twice. Any difference in the texts and the stored segments are scanned afresh.
[[nodiscard]] RedactedTranscript redact_transcript(std::string_view segments_json,
                                                   const std::vector<analytics::TranscriptSegment>& scanned,
                                                   const std::vector<std::vector<analytics::PiiFinding>>& findings);

// `text` with every finding replaced by its placeholder.
[[nodiscard]] std::string redact_text(std::string_view text);

}  // namespace earshot::pipeline

#include "earshot/pipeline/redaction.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>

#include "earshot/core/json_ms.hpp"

namespace earshot::pipeline {
namespace {

using nlohmann::json;

// Byte span of a word found in the segment's text.
struct Placed {
  std::size_t begin = 0;
  std::size_t end = 0;
  const TimedWord* word = nullptr;
};

std::size_t find_nocase(std::string_view hay, std::string_view needle, std::size_t from) {
  if (needle.empty() || needle.size() > hay.size()) return std::string_view::npos;
  const auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    bool same = true;
    for (std::size_t k = 0; k < needle.size() && same; ++k) same = lower(hay[i + k]) == lower(needle[k]);
    if (same) return i;
  }
  return std::string_view::npos;
}

// Each word in the text (ignoring case), in order, from where the previous one ended; a word
// not found is skipped (the next one is looked for from the same place).
std::vector<Placed> place_words(const TimedSegment& s) {
  std::vector<Placed> out;
  std::size_t cursor = 0;
  for (const auto& w : s.words) {
    if (w.text.empty()) continue;
    const auto at = find_nocase(s.text, w.text, cursor);
    if (at == std::string::npos) continue;
    out.push_back({at, at + w.text.size(), &w});
    cursor = at + w.text.size();
  }
  return out;
}

std::int64_t proportional(const TimedSegment& s, std::size_t offset, bool round_up) {
  const auto len = static_cast<double>(std::max<std::size_t>(s.text.size(), 1));
  const double span = static_cast<double>(std::max<std::int64_t>(s.end_ms - s.start_ms, 0));
  const double at = span * static_cast<double>(std::min(offset, s.text.size())) / len;
  return s.start_ms + static_cast<std::int64_t>(round_up ? std::ceil(at) : std::floor(at));
}

std::int64_t int_field(const json& j, const char* k, std::int64_t fallback) {
  return json_ms(j, k, fallback);
}

std::string str_field(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

TimedSegment timed_segment(const json& s) {
  TimedSegment out;
  out.start_ms = int_field(s, "start_ms", 0);
  out.end_ms = int_field(s, "end_ms", out.start_ms);
  out.text = str_field(s, "text");
  if (auto w = s.find("words"); w != s.end() && w->is_array()) {
    for (const auto& x : *w) {
      if (!x.is_object()) continue;
      TimedWord word;
      word.text = str_field(x, "text");
      if (word.text.empty()) word.text = str_field(x, "word");
      word.start_ms = int_field(x, "start_ms", out.start_ms);
      word.end_ms = int_field(x, "end_ms", word.start_ms);
      out.words.push_back(std::move(word));
    }
  }
  return out;
}

}  // namespace

std::vector<TimeRange> finding_times(const TimedSegment& segment, const std::vector<analytics::PiiFinding>& findings,
                                     std::int64_t pad_ms) {
  std::vector<TimeRange> out;
  if (findings.empty()) return out;
  const auto placed = place_words(segment);
  out.reserve(findings.size());
  for (const auto& f : findings) {
    std::optional<TimeRange> by_words;
    for (const auto& p : placed) {
      if (p.end <= f.begin || p.begin >= f.end) continue;  // no overlap with the finding
      const TimeRange w{std::min(p.word->start_ms, p.word->end_ms), std::max(p.word->start_ms, p.word->end_ms)};
      if (!by_words) {
        by_words = w;
      } else {
        by_words->start_ms = std::min(by_words->start_ms, w.start_ms);
        by_words->end_ms = std::max(by_words->end_ms, w.end_ms);
      }
    }
    TimeRange r =
        by_words ? *by_words : TimeRange{proportional(segment, f.begin, false), proportional(segment, f.end, true)};
    r.start_ms = std::max<std::int64_t>(0, r.start_ms - pad_ms);
    r.end_ms = std::max(r.start_ms, r.end_ms + pad_ms);
    out.push_back(r);
  }
  return out;
}

std::vector<TimeRange> merge_ranges(std::vector<TimeRange> ranges) {
  std::erase_if(ranges, [](const TimeRange& r) { return r.end_ms <= r.start_ms; });
  std::sort(ranges.begin(), ranges.end(),
            [](const TimeRange& a, const TimeRange& b) { return a.start_ms < b.start_ms; });
  std::vector<TimeRange> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.start_ms <= out.back().end_ms) {
      out.back().end_ms = std::max(out.back().end_ms, r.end_ms);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::int64_t mask_ranges(audio::AudioBuffer& audio, const std::vector<TimeRange>& ranges) {
  if (audio.sample_rate <= 0 || audio.channels.empty()) return 0;
  const auto frames = static_cast<std::int64_t>(audio.frames());
  const double step = 2.0 * std::numbers::pi * kMaskToneHz / audio.sample_rate;
  std::int64_t masked = 0;
  for (const auto& r : merge_ranges(ranges)) {
    const std::int64_t first = std::clamp<std::int64_t>(r.start_ms * audio.sample_rate / 1000, 0, frames);
    // The last frame is the one the end time falls in (rounded up), so the range is covered.
    const std::int64_t last = std::clamp<std::int64_t>((r.end_ms * audio.sample_rate + 999) / 1000, 0, frames);
    for (std::int64_t i = first; i < last; ++i) {
      const auto v = static_cast<float>(kMaskToneAmplitude * std::sin(step * static_cast<double>(i)));
      for (auto& ch : audio.channels) {
        if (static_cast<std::size_t>(i) < ch.size()) ch[static_cast<std::size_t>(i)] = v;
      }
    }
    masked += std::max<std::int64_t>(0, last - first);
  }
  return masked;
}

std::string redact_text(std::string_view text) {
  return analytics::redact(text, analytics::find_pii(text));
}

RedactedTranscript redact_transcript(std::string_view segments_json) {
  static const std::vector<analytics::TranscriptSegment> kNone;
  static const std::vector<std::vector<analytics::PiiFinding>> kNoFindings;
  return redact_transcript(segments_json, kNone, kNoFindings);
}

RedactedTranscript redact_transcript(std::string_view segments_json,
                                     const std::vector<analytics::TranscriptSegment>& scanned,
                                     const std::vector<std::vector<analytics::PiiFinding>>& findings) {
  RedactedTranscript out;
  const auto j = json::parse(segments_json, nullptr, false);
  if (!j.is_array()) return out;
  std::vector<const json*> kept;
  std::vector<TimedSegment> timed;
  std::vector<std::string> texts;
  for (const auto& s : j) {
    if (!s.is_object()) continue;
    kept.push_back(&s);
    timed.push_back(timed_segment(s));
    texts.push_back(timed.back().text);
  }
  // The whole call at once: findings sorted by segment, then offset.
  const bool same = !texts.empty() && scanned.size() == texts.size() && findings.size() == texts.size() &&
                    std::equal(texts.begin(), texts.end(), scanned.begin(),
                               [](const std::string& a, const analytics::TranscriptSegment& b) { return a == b.text; });
  std::vector<std::vector<analytics::PiiFinding>> by_segment;
  if (same) {
    by_segment = findings;
  } else {
    by_segment.resize(kept.size());
    for (auto& f : analytics::find_pii_in_turns(texts)) by_segment[f.segment].push_back(f);
  }
  json segs = json::array();
  std::vector<TimeRange> ranges;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    const auto& found = by_segment[i];
    out.findings += found.size();
    json r = *kept[i];
    r.erase("words");
    r["text"] = analytics::redact(timed[i].text, found);
    if (!out.full_text.empty()) out.full_text += '\n';
    out.full_text += r["text"].get<std::string>();
    segs.push_back(std::move(r));
    const auto exact = finding_times(timed[i], found, 0);
    for (std::size_t k = 0; k < found.size(); ++k) out.located.push_back({found[k], exact[k]});
    auto times = finding_times(timed[i], found);
    ranges.insert(ranges.end(), times.begin(), times.end());
  }
  out.segments_json = segs.dump();
  out.ranges = merge_ranges(std::move(ranges));
  return out;
}

}  // namespace earshot::pipeline

#include "earshot/stt/speakers.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace earshot::stt {

namespace {

// Lower case, punctuation to spaces, runs of spaces collapsed, padded with one space each side
// so that phrases match on word boundaries.
std::string normalise(std::string_view s) {
  std::string out = " ";
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '\'' || c >= 0x80) {
      out.push_back(static_cast<char>(std::tolower(c)));
    } else if (out.back() != ' ') {
      out.push_back(' ');
    }
  }
  if (out.back() != ' ') out.push_back(' ');
  return out;
}

bool is_channel_label(const std::string& label) {
  return label.size() > 2 && label.starts_with("ch") &&
         std::all_of(label.begin() + 2, label.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// The agent among the diarized labels in `talk` (not empty; every label is the speaker of
// some segment in `ordered`): the first to say a greeting phrase, else the first to speak.
std::string pick_agent(const std::vector<const Segment*>& ordered, const std::map<std::string, std::int64_t>& talk,
                       const std::vector<std::string>& phrases) {
  for (const auto* s : ordered) {
    if (!talk.contains(s->speaker)) continue;
    const auto text = normalise(s->text);
    if (std::any_of(phrases.begin(), phrases.end(),
                    [&](const std::string& p) { return text.find(p) != std::string::npos; })) {
      return s->speaker;
    }
  }
  for (const auto* s : ordered) {
    if (talk.contains(s->speaker)) return s->speaker;
  }
  return talk.begin()->first;  // not reached (see above)
}

}  // namespace

std::map<std::string, std::string> map_speakers(Transcript& transcript, const SpeakerMapping& mapping) {
  std::map<std::string, std::string> applied;
  std::vector<const Segment*> ordered;
  ordered.reserve(transcript.segments.size());
  for (const auto& s : transcript.segments) ordered.push_back(&s);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Segment* a, const Segment* b) { return a->start_ms < b->start_ms; });

  std::map<std::string, std::int64_t> talk;  // diarized labels only
  for (const auto* s : ordered) {
    if (s->speaker == "unknown") {
      applied["unknown"] = "unknown";
    } else if (is_channel_label(s->speaker)) {
      const auto ch = s->speaker;
      if (ch == "ch0")
        applied[ch] = mapping.agent_on_left ? "agent" : "customer";
      else if (ch == "ch1")
        applied[ch] = mapping.agent_on_left ? "customer" : "agent";
      else
        applied[ch] = "other";
    } else {
      talk[s->speaker] += std::max<std::int64_t>(0, s->end_ms - s->start_ms);
    }
  }

  if (!talk.empty()) {
    std::vector<std::string> phrases;
    for (const auto& p : mapping.greeting_phrases) {
      auto n = normalise(p);
      if (n.size() > 2) phrases.push_back(std::move(n));
    }
    const std::string agent = pick_agent(ordered, talk, phrases);
    applied[agent] = "agent";
    std::optional<std::string> customer;
    for (const auto& [label, ms] : talk) {
      if (label == agent) continue;
      if (!customer || ms > talk[*customer]) customer = label;
    }
    for (const auto& [label, ms] : talk) {
      if (label == agent) continue;
      applied[label] = (customer && label == *customer) ? "customer" : "other";
    }
  }

  for (auto& s : transcript.segments) {
    if (auto it = applied.find(s.speaker); it != applied.end()) s.speaker = it->second;
  }
  return applied;
}

}  // namespace earshot::stt

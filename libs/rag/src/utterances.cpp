#include "earshot/rag/utterances.hpp"

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "earshot/core/json_ms.hpp"
#include "earshot/rag/tokenizer.hpp"

namespace earshot::rag {

std::vector<Utterance> parse_utterances(std::string_view segments_json) {
  const auto j = nlohmann::json::parse(segments_json, nullptr, false);
  std::vector<Utterance> out;
  if (!j.is_array()) return out;
  out.reserve(j.size());
  for (const auto& s : j) {
    if (!s.is_object()) continue;
    Utterance u;
    const auto speaker = s.find("speaker");
    u.speaker = speaker != s.end() && speaker->is_string() && *speaker == "customer" ? "customer" : "agent";
    u.start_ms = json_ms(s, "start_ms", 0);
    u.end_ms = json_ms(s, "end_ms", u.start_ms);
    const auto text = s.find("text");
    if (text != s.end() && text->is_string()) u.text = text->get<std::string>();
    out.push_back(std::move(u));
  }
  return out;
}

std::optional<std::size_t> best_utterance(std::string_view question, std::span<const Utterance> utterances,
                                          std::int64_t start_ms, std::int64_t end_ms) {
  std::unordered_set<std::string> terms;
  for (auto& t : tokenize(question)) {
    if (!is_stop_word(t)) terms.insert(std::move(t));
  }
  if (terms.empty()) return std::nullopt;
  std::optional<std::size_t> best;
  std::size_t best_shared = 0;
  for (std::size_t i = 0; i < utterances.size(); ++i) {
    const auto& u = utterances[i];
    if (u.start_ms < start_ms || u.start_ms > end_ms) continue;
    std::unordered_set<std::string> seen;
    for (auto& t : tokenize(u.text)) {
      if (terms.contains(t)) seen.insert(std::move(t));
    }
    if (seen.size() > best_shared) {
      best_shared = seen.size();
      best = i;
    }
  }
  return best;
}

}  // namespace earshot::rag

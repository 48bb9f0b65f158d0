#include "earshot/analytics/categories.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace earshot::analytics {
namespace {

using nlohmann::json;

std::unexpected<Error> bad(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", where, what));
}

// A string field, `fallback` when absent; kInvalidArgument naming it when it holds another JSON
// type (json::value would throw there).
Result<std::string> string_field(const json& j, const char* key, const std::string& where, std::string fallback = "") {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_string()) return bad(where + "." + key, "must be a string");
  return it->get<std::string>();
}

std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '\'') {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

// A light stemmer for "word forms": plural, past, progressive and adverb endings.
std::string stem(const std::string& w) {
  for (std::string_view suf : {"ing", "ed", "es", "ly", "s"}) {
    if (w.size() > suf.size() + 2 && w.ends_with(suf)) {
      std::string s = w.substr(0, w.size() - suf.size());
      if (s.size() >= 2 && s[s.size() - 1] == s[s.size() - 2] && suf != "s" && suf != "ly") s.pop_back();  // stopped
      if (s.ends_with("i") && (suf == "es" || suf == "ed")) s.back() = 'y';  // replied -> reply
      return s;
    }
  }
  return w;
}

Result<Window> parse_window(const json& j, const std::string& where) {
  Window w;
  if (j.is_null()) return w;
  if (!j.is_object()) return bad(where, "must be an object");
  if (j.size() == 1 && j.contains("first_ms")) {
    if (!j["first_ms"].is_number_integer() || j["first_ms"].get<std::int64_t>() <= 0)
      return bad(where + ".first_ms", "must be a positive integer");
    w.kind = Window::Kind::kFirst;
    w.ms = j["first_ms"].get<std::int64_t>();
  } else if (j.size() == 1 && j.contains("last_ms")) {
    if (!j["last_ms"].is_number_integer() || j["last_ms"].get<std::int64_t>() <= 0)
      return bad(where + ".last_ms", "must be a positive integer");
    w.kind = Window::Kind::kLast;
    w.ms = j["last_ms"].get<std::int64_t>();
  } else if (j.size() == 2 && j.contains("start_pct") && j.contains("end_pct")) {
    if (!j["start_pct"].is_number() || !j["end_pct"].is_number())
      return bad(where, "start_pct and end_pct must be numbers");
    w.kind = Window::Kind::kRelative;
    w.start_pct = j["start_pct"].get<double>();
    w.end_pct = j["end_pct"].get<double>();
    if (!(w.start_pct >= 0 && w.start_pct < w.end_pct && w.end_pct <= 100)) {
      return bad(where, "needs 0 <= start_pct < end_pct <= 100");
    }
  } else {
    return bad(where, "must be {first_ms}, {last_ms} or {start_pct, end_pct}");
  }
  return w;
}

Result<Speaker> parse_speaker(const json& j, const std::string& where, bool allow_anyone) {
  if (j.is_null()) return Speaker::kAnyone;
  if (j == "agent") return Speaker::kAgent;
  if (j == "customer") return Speaker::kCustomer;
  if (allow_anyone && j == "anyone") return Speaker::kAnyone;
  return bad(where, allow_anyone ? "must be agent, customer or anyone" : "must be agent or customer");
}

Status only_keys(const json& j, std::initializer_list<std::string_view> keys, const std::string& where) {
  for (const auto& [k, v] : j.items()) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) return bad(where, fmt::format("unknown field '{}'", k));
  }
  return {};
}

Result<Rule> parse_rule(const json& j, const std::string& where) {
  if (!j.is_object()) return bad(where, "must be an object");
  if (!j.contains("type") || !j["type"].is_string()) return bad(where + ".type", "is required");
  Rule r;
  const std::string type = j["type"];
  if (j.contains("negate")) {
    if (!j["negate"].is_boolean()) return bad(where + ".negate", "must be a boolean");
    r.negate = j["negate"].get<bool>();
  }
  auto window = parse_window(j.value("window", json()), where + ".window");
  if (!window) return std::unexpected(window.error());
  r.window = *window;
  if (type == "transcript") {
    if (auto st = only_keys(j, {"type", "phrases", "match", "speaker", "window", "negate"}, where); !st)
      return std::unexpected(st.error());
    r.type = Rule::Type::kTranscript;
    if (!j.contains("phrases") || !j["phrases"].is_array() || j["phrases"].empty() || j["phrases"].size() > 100) {
      return bad(where + ".phrases", "must be a list of 1-100 phrases");
    }
    for (const auto& p : j["phrases"]) {
      if (!p.is_string()) return bad(where + ".phrases", "must hold strings");
      auto t = tokens(p.get<std::string>());
      if (t.empty() || t.size() > 20) return bad(where + ".phrases", "each phrase needs 1-20 words");
      r.phrases.push_back(std::move(t));
    }
    auto match = string_field(j, "match", where, "exact");
    if (!match) return std::unexpected(match.error());
    if (*match != "exact" && *match != "forms") return bad(where + ".match", "must be exact or forms");
    r.word_forms = *match == "forms";
    if (r.word_forms) {
      for (auto& p : r.phrases) {
        for (auto& w : p) w = stem(w);
      }
    }
    auto sp = parse_speaker(j.value("speaker", json()), where + ".speaker", true);
    if (!sp) return std::unexpected(sp.error());
    r.speaker = *sp;
  } else if (type == "non_talk") {
    if (auto st = only_keys(j, {"type", "min_ms", "window", "negate"}, where); !st) return std::unexpected(st.error());
    r.type = Rule::Type::kNonTalk;
    if (!j.contains("min_ms") || !j["min_ms"].is_number_integer() || j["min_ms"].get<std::int64_t>() <= 0) {
      return bad(where + ".min_ms", "must be a positive integer");
    }
    r.min_ms = j["min_ms"];
  } else if (type == "interruption") {
    if (auto st = only_keys(j, {"type", "min_ms", "speaker", "negate"}, where); !st) return std::unexpected(st.error());
    r.type = Rule::Type::kInterruption;
    if (!j.contains("min_ms") || !j["min_ms"].is_number_integer() || j["min_ms"].get<std::int64_t>() < 0) {
      return bad(where + ".min_ms", "must be a non-negative integer");
    }
    r.min_ms = j["min_ms"];
    auto sp = parse_speaker(j.value("speaker", json()), where + ".speaker", true);
    if (!sp) return std::unexpected(sp.error());
    r.speaker = *sp;
  } else if (type == "sentiment") {
    if (auto st = only_keys(j, {"type", "speaker", "value", "window", "negate"}, where); !st)
      return std::unexpected(st.error());
    r.type = Rule::Type::kSentiment;
    auto sp = parse_speaker(j.value("speaker", json()), where + ".speaker", false);
    if (!sp) return std::unexpected(sp.error());
    if (!j.contains("speaker")) return bad(where + ".speaker", "is required (agent or customer)");
    r.speaker = *sp;
    auto value = string_field(j, "value", where);
    if (!value) return std::unexpected(value.error());
    r.sentiment = std::move(*value);
    if (r.sentiment != "positive" && r.sentiment != "negative" && r.sentiment != "neutral" && r.sentiment != "mixed") {
      return bad(where + ".value", "must be positive, negative, neutral or mixed");
    }
  } else {
    return bad(where + ".type", "must be transcript, non_talk, interruption or sentiment");
  }
  return r;
}

Result<std::vector<Rule>> parse_rule_list(const json& j, const std::string& where) {
  if (!j.is_array() || j.empty() || j.size() > 20) return bad(where, "must be a list of 1-20 rules");
  std::vector<Rule> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto r = parse_rule(j[i], fmt::format("{}[{}]", where, i));
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

bool overlaps(const Interval& a, const Interval& b) {
  return a.start_ms < b.end_ms && b.start_ms < a.end_ms;
}

bool speaker_ok(Speaker s, Role r) {
  return s == Speaker::kAnyone || (s == Speaker::kAgent) == (r == Role::kAgent);
}

bool phrase_in(const std::vector<std::string>& words, const std::vector<std::string>& phrase) {
  if (phrase.size() > words.size()) return false;
  for (std::size_t i = 0; i + phrase.size() <= words.size(); ++i) {
    if (std::equal(phrase.begin(), phrase.end(), words.begin() + static_cast<std::ptrdiff_t>(i))) return true;
  }
  return false;
}

}  // namespace

Interval Window::resolve(std::int64_t d) const {
  switch (kind) {
    case Kind::kWhole:
      return {0, std::max<std::int64_t>(d, 1)};
    case Kind::kFirst:
      return {0, std::min(ms, std::max<std::int64_t>(d, 1))};
    case Kind::kLast:
      return {std::max<std::int64_t>(0, d - ms), std::max<std::int64_t>(d, 1)};
    case Kind::kRelative:
      return {static_cast<std::int64_t>(static_cast<double>(d) * start_pct / 100.0),
              std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(d) * end_pct / 100.0))};
  }
  return {0, d};
}

Result<std::vector<Rule>> parse_rules(const std::string& rules_json) {
  auto j = json::parse(rules_json, nullptr, false);
  if (j.is_discarded()) return bad("rules", "not valid JSON");
  return parse_rule_list(j, "rules");
}

Result<Category> parse_category(const std::string& name, const std::string& rules_json) {
  if (name.empty() || name.size() > 128) return bad("name", "must be 1-128 characters");
  auto rules = parse_rules(rules_json);
  if (!rules) return std::unexpected(rules.error());
  return Category{name, std::move(*rules)};
}

bool rule_matches(const Rule& r, const CallFacts& f, std::vector<Interval>* spans) {
  std::vector<Interval> found;
  const Interval win = r.window.resolve(f.duration_ms);
  bool hit = false;
  switch (r.type) {
    case Rule::Type::kTranscript:
      for (const auto& s : f.segments) {
        if (!speaker_ok(r.speaker, s.role) || !overlaps({s.start_ms, std::max(s.end_ms, s.start_ms + 1)}, win))
          continue;
        auto words = tokens(s.text);
        if (r.word_forms) {
          for (auto& w : words) w = stem(w);
        }
        for (const auto& p : r.phrases) {
          if (phrase_in(words, p)) {
            found.push_back({s.start_ms, s.end_ms});
            break;
          }
        }
      }
      hit = !found.empty();
      break;
    case Rule::Type::kNonTalk:
      for (const auto& s : f.silences) {
        const Interval clipped{std::max(s.start_ms, win.start_ms), std::min(s.end_ms, win.end_ms)};
        if (clipped.end_ms - clipped.start_ms > r.min_ms) found.push_back(clipped);
      }
      hit = !found.empty();
      break;
    case Rule::Type::kInterruption: {
      std::int64_t total = 0;
      if (r.speaker != Speaker::kCustomer) total += f.agent_interruption_ms;
      if (r.speaker != Speaker::kAgent) total += f.customer_interruption_ms;
      hit = total > r.min_ms;
      break;
    }
    case Rule::Type::kSentiment: {
      int pos = 0, neg = 0, n = 0;
      double sum = 0;
      for (std::size_t i = 0; i < f.segments.size() && i < f.segment_sentiment.size(); ++i) {
        const auto& s = f.segments[i];
        if (!speaker_ok(r.speaker, s.role) || !overlaps({s.start_ms, std::max(s.end_ms, s.start_ms + 1)}, win))
          continue;
        const double v = f.segment_sentiment[i];
        sum += v;
        ++n;
        pos += v >= 0.05 ? 1 : 0;
        neg += v <= -0.05 ? 1 : 0;
        if ((r.sentiment == "positive" && v >= 0.05) || (r.sentiment == "negative" && v <= -0.05)) {
          found.push_back({s.start_ms, s.end_ms});
        }
      }
      if (n > 0) {
        const double mean = sum / n;
        if (r.sentiment == "positive")
          hit = mean >= 0.05;
        else if (r.sentiment == "negative")
          hit = mean <= -0.05;
        else if (r.sentiment == "neutral")
          hit = mean > -0.05 && mean < 0.05 && !(pos > 0 && neg > 0);
        else
          hit = pos > 0 && neg > 0;  // mixed
      }
      break;
    }
  }
  const bool result = r.negate ? !hit : hit;
  if (result && !r.negate && spans != nullptr) spans->insert(spans->end(), found.begin(), found.end());
  return result;
}

std::optional<CategoryMatch> match_category(const Category& c, const CallFacts& f) {
  CategoryMatch m{c.name, {}};
  for (const auto& r : c.rules) {
    if (!rule_matches(r, f, &m.spans)) return std::nullopt;
  }
  std::sort(m.spans.begin(), m.spans.end(),
            [](const Interval& a, const Interval& b) { return a.start_ms < b.start_ms; });
  return m;
}

std::string_view answer_name(Answer a) {
  switch (a) {
    case Answer::kYes:
      return "yes";
    case Answer::kNo:
      return "no";
    case Answer::kNotApplicable:
      return "n/a";
  }
  return "n/a";
}

Result<Scorecard> parse_scorecard(const std::string& name, const std::string& text) {
  if (name.empty() || name.size() > 128) return bad("name", "must be 1-128 characters");
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("scorecard", "must be a JSON object");
  if (!j.contains("questions") || !j["questions"].is_array() || j["questions"].empty() || j["questions"].size() > 100) {
    return bad("questions", "must be a list of 1-100 questions");
  }
  Scorecard card{name, {}};
  for (std::size_t i = 0; i < j["questions"].size(); ++i) {
    const auto& q = j["questions"][i];
    const std::string where = fmt::format("questions[{}]", i);
    if (!q.is_object()) return bad(where, "must be an object");
    QaQuestion out;
    auto id = string_field(q, "id", where);
    if (!id) return std::unexpected(id.error());
    out.id = std::move(*id);
    if (out.id.empty() || out.id.size() > 64) return bad(where + ".id", "must be 1-64 characters");
    auto text_value = string_field(q, "text", where);
    if (!text_value) return std::unexpected(text_value.error());
    out.text = std::move(*text_value);
    if (!q.contains("weight") || !q["weight"].is_number() || q["weight"].get<double>() <= 0) {
      return bad(where + ".weight", "must be a positive number");
    }
    out.weight = q["weight"];
    if (!q.contains("answer") || !q["answer"].is_object()) return bad(where + ".answer", "is required");
    const auto& a = q["answer"];
    const std::string answer_where = where + ".answer";
    auto kind_value = string_field(a, "kind", answer_where);
    if (!kind_value) return std::unexpected(kind_value.error());
    const std::string kind = std::move(*kind_value);
    if (kind == "rule") {
      out.kind = QaQuestion::Kind::kRule;
      auto rules = parse_rule_list(a.value("rules", json()), where + ".answer.rules");
      if (!rules) return std::unexpected(rules.error());
      out.rules = std::move(*rules);
    } else if (kind == "metric") {
      out.kind = QaQuestion::Kind::kMetric;
      auto metric = string_field(a, "metric", answer_where);
      if (!metric) return std::unexpected(metric.error());
      out.metric = std::move(*metric);
      auto op = string_field(a, "op", answer_where);
      if (!op) return std::unexpected(op.error());
      out.op = std::move(*op);
      if (out.metric.empty()) return bad(where + ".answer.metric", "is required");
      if (out.op != "<" && out.op != "<=" && out.op != ">" && out.op != ">=" && out.op != "==" && out.op != "!=") {
        return bad(where + ".answer.op", "must be one of < <= > >= == !=");
      }
      if (!a.contains("value") || !a["value"].is_number()) return bad(where + ".answer.value", "must be a number");
      out.value = a["value"];
    } else if (kind == "agent") {
      out.kind = QaQuestion::Kind::kAgent;
      auto agent = string_field(a, "agent", answer_where);
      if (!agent) return std::unexpected(agent.error());
      out.agent = std::move(*agent);
      auto field = string_field(a, "field", answer_where);
      if (!field) return std::unexpected(field.error());
      out.field = std::move(*field);
      if (out.agent.empty()) return bad(where + ".answer.agent", "is required");
      if (out.field.empty() || out.field[0] != '/')
        return bad(where + ".answer.field", "must be a JSON pointer like /greeting");
      try {
        (void)json::json_pointer(out.field);
      } catch (const json::exception&) {
        return bad(where + ".answer.field", "is not a valid JSON pointer");
      }
      if (!a.contains("equals")) return bad(where + ".answer.equals", "is required");
      out.equals_json = a["equals"].dump();
    } else {
      return bad(where + ".answer.kind", "must be rule, metric or agent");
    }
    card.questions.push_back(std::move(out));
  }
  return card;
}

QaResult score_call(const Scorecard& card, const CallFacts& facts, const std::map<std::string, double>& metrics,
                    const std::map<std::string, std::string>& agent_outputs) {
  QaResult out;
  double yes = 0, answered = 0;
  for (const auto& q : card.questions) {
    QaAnswer a{q.id, Answer::kNotApplicable, q.weight};
    switch (q.kind) {
      case QaQuestion::Kind::kRule: {
        bool all = true;
        for (const auto& r : q.rules) all = all && rule_matches(r, facts, nullptr);
        a.answer = all ? Answer::kYes : Answer::kNo;
        break;
      }
      case QaQuestion::Kind::kMetric: {
        auto it = metrics.find(q.metric);
        if (it == metrics.end()) break;
        const double v = it->second;
        bool ok = false;
        if (q.op == "<")
          ok = v < q.value;
        else if (q.op == "<=")
          ok = v <= q.value;
        else if (q.op == ">")
          ok = v > q.value;
        else if (q.op == ">=")
          ok = v >= q.value;
        else if (q.op == "==")
          ok = v == q.value;
        else
          ok = v != q.value;
        a.answer = ok ? Answer::kYes : Answer::kNo;
        break;
      }
      case QaQuestion::Kind::kAgent: {
        auto it = agent_outputs.find(q.agent);
        if (it == agent_outputs.end()) break;
        auto doc = json::parse(it->second, nullptr, false);
        if (doc.is_discarded()) break;
        const json::json_pointer ptr(q.field);
        // The output is the LLM's: contains() throws where the field names an array index
        // beyond size_t ("/99999999999999999999"). Such a field is absent from this output.
        const json* found = nullptr;
        try {
          if (doc.contains(ptr)) found = &doc.at(ptr);
        } catch (const json::exception&) {
          found = nullptr;
        }
        if (found == nullptr) break;
        a.answer = *found == json::parse(q.equals_json) ? Answer::kYes : Answer::kNo;
        break;
      }
    }
    if (a.answer != Answer::kNotApplicable) {
      answered += q.weight;
      if (a.answer == Answer::kYes) yes += q.weight;
    }
    out.answers.push_back(a);
  }
  if (answered > 0) out.score = yes / answered;
  return out;
}

}  // namespace earshot::analytics

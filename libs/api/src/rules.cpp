// Category rules and scorecard questions: the shapes the analyze stage evaluates
// (the shared metrics document, "Categories" and "QA scorecards").
#include <fmt/format.h>

#include "earshot/api/gateway.hpp"

namespace earshot::api {
namespace {

std::unexpected<Error> bad(const std::string& path, std::string_view why) {
  return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", path, why));
}

Status only(const Json& o, const std::string& path, std::initializer_list<std::string_view> keys) {
  for (const auto& [k, v] : o.items()) {
    bool ok = false;
    for (auto a : keys) ok = ok || k == a;
    if (!ok) return bad(path + "." + k, "unknown field");
  }
  return {};
}

Status one_of(const Json& o, const std::string& path, const char* key,
              std::initializer_list<std::string_view> values, bool required) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) return bad(path + "." + key, "required");
    return {};
  }
  if (it->is_string()) {
    const auto v = it->get<std::string>();
    for (auto a : values) {
      if (v == a) return {};
    }
  }
  std::string list;
  for (auto a : values) list += (list.empty() ? "" : "|") + std::string(a);
  return bad(path + "." + key, "must be one of " + list);
}

Status positive_ms(const Json& o, const std::string& path, const char* key, bool required) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) return bad(path + "." + key, "required");
    return {};
  }
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0 ||
      it->get<std::int64_t>() > 86'400'000) {
    return bad(path + "." + key, "must be an integer 1..86400000 (ms)");
  }
  return {};
}

Status negate(const Json& o, const std::string& path) {
  if (auto it = o.find("negate"); it != o.end() && !it->is_boolean()) {
    return bad(path + ".negate", "must be true or false");
  }
  return {};
}

// {"first_ms": N} | {"last_ms": N} | {"start_pct": A, "end_pct": B}
Status window(const Json& o, const std::string& rule_path) {
  auto it = o.find("window");
  if (it == o.end()) return {};
  const std::string path = rule_path + ".window";
  if (!it->is_object() || it->empty()) return bad(path, "must be an object");
  const Json& w = *it;
  if (w.contains("first_ms") || w.contains("last_ms")) {
    if (w.size() != 1) return bad(path, "first_ms or last_ms alone");
    return positive_ms(w, path, w.contains("first_ms") ? "first_ms" : "last_ms", true);
  }
  if (auto st = only(w, path, {"start_pct", "end_pct"}); !st) return st;
  for (const char* k : {"start_pct", "end_pct"}) {
    if (!w.contains(k) || !w[k].is_number() || w[k].get<double>() < 0 || w[k].get<double>() > 100) {
      return bad(path + "." + k, "must be 0..100");
    }
  }
  if (w["start_pct"].get<double>() >= w["end_pct"].get<double>()) {
    return bad(path, "start_pct must be below end_pct");
  }
  return {};
}

Status rule(const Json& r, const std::string& path) {
  if (!r.is_object()) return bad(path, "must be an object");
  auto t = r.find("type");
  if (t == r.end() || !t->is_string()) return bad(path + ".type", "required");
  const auto type = t->get<std::string>();
  if (type == "transcript") {
    if (auto st = only(r, path, {"type", "phrases", "match", "speaker", "window", "negate"}); !st) return st;
    auto p = r.find("phrases");
    if (p == r.end() || !p->is_array() || p->empty() || p->size() > 50) {
      return bad(path + ".phrases", "must be a list of 1-50 phrases");
    }
    for (std::size_t i = 0; i < p->size(); ++i) {
      const auto& ph = (*p)[i];
      if (!ph.is_string() || ph.get<std::string>().empty() || ph.get<std::string>().size() > 200) {
        return bad(fmt::format("{}.phrases[{}]", path, i), "must be 1-200 characters");
      }
    }
    if (auto st = one_of(r, path, "match", {"exact", "stem"}, false); !st) return st;
    if (auto st = one_of(r, path, "speaker", {"agent", "customer", "any"}, false); !st) return st;
  } else if (type == "non_talk") {
    if (auto st = only(r, path, {"type", "min_ms", "window", "negate"}); !st) return st;
    if (auto st = positive_ms(r, path, "min_ms", true); !st) return st;
  } else if (type == "interruption") {
    if (auto st = only(r, path, {"type", "role", "min_ms", "negate"}); !st) return st;
    if (auto st = one_of(r, path, "role", {"agent", "customer", "any"}, true); !st) return st;
    if (auto st = positive_ms(r, path, "min_ms", true); !st) return st;
  } else if (type == "sentiment") {
    if (auto st = only(r, path, {"type", "role", "value", "window", "negate"}); !st) return st;
    if (auto st = one_of(r, path, "role", {"agent", "customer"}, true); !st) return st;
    if (auto st = one_of(r, path, "value", {"positive", "negative", "neutral", "mixed"}, true); !st) {
      return st;
    }
  } else {
    return bad(path + ".type", "must be transcript|non_talk|interruption|sentiment");
  }
  if (auto st = window(r, path); !st) return st;
  return negate(r, path);
}

}  // namespace

Status validate_category_rules(const Json& rules) {
  if (!rules.is_array() || rules.empty() || rules.size() > 20) {
    return bad("rules", "must be a list of 1-20 rules");
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (auto st = rule(rules[i], fmt::format("rules[{}]", i)); !st) return st;
  }
  return {};
}

Status validate_scorecard_questions(const Json& questions) {
  if (!questions.is_array() || questions.empty() || questions.size() > 100) {
    return bad("questions", "must be a list of 1-100 questions");
  }
  for (std::size_t i = 0; i < questions.size(); ++i) {
    const std::string path = fmt::format("questions[{}]", i);
    const Json& q = questions[i];
    if (!q.is_object()) return bad(path, "must be an object");
    if (auto st = only(q, path, {"text", "weight", "answer_by", "rule", "metric", "agent"}); !st) return st;
    if (!q.contains("text") || !q["text"].is_string() || q["text"].get<std::string>().empty() ||
        q["text"].get<std::string>().size() > 500) {
      return bad(path + ".text", "must be 1-500 characters");
    }
    if (!q.contains("weight") || !q["weight"].is_number() || q["weight"].get<double>() <= 0 ||
        q["weight"].get<double>() > 100) {
      return bad(path + ".weight", "must be a number in (0, 100]");
    }
    if (auto st = one_of(q, path, "answer_by", {"rule", "metric", "llm"}, true); !st) return st;
    const auto by = q["answer_by"].get<std::string>();
    if (by == "rule") {
      if (!q.contains("rule")) return bad(path + ".rule", "required when answer_by is rule");
      if (auto st = rule(q["rule"], path + ".rule"); !st) return st;
    } else if (by == "metric") {
      if (!q.contains("metric") || !q["metric"].is_object()) {
        return bad(path + ".metric", "required when answer_by is metric");
      }
      const Json& m = q["metric"];
      const std::string mp = path + ".metric";
      if (auto st = only(m, mp, {"name", "op", "value"}); !st) return st;
      if (!m.contains("name") || !m["name"].is_string() || m["name"].get<std::string>().empty() ||
          m["name"].get<std::string>().size() > 64) {
        return bad(mp + ".name", "must be a metric name");
      }
      if (auto st = one_of(m, mp, "op", {"<", "<=", ">", ">="}, true); !st) return st;
      if (!m.contains("value") || !m["value"].is_number()) return bad(mp + ".value", "must be a number");
    } else {
      if (!q.contains("agent") || !q["agent"].is_string() || q["agent"].get<std::string>().empty()) {
        return bad(path + ".agent", "required when answer_by is llm");
      }
    }
  }
  return {};
}

}  // namespace earshot::api

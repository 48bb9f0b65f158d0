// Recall and precision of the typed PII detector on call transcripts written for this project
// (tests/analytics/data/pii_calls_*.jsonl: spoken-style segments with speaker and text, and the
// expected entities with segment, type, byte offset and exact text). The held-out part was
// written before the detector's rules and never tuned on; the tuning part is what the rules
// were developed against. Both include PII-free calls full of prices, quantities, times, dates
// and order, ticket, case and tracking numbers (not personal data by decision: they identify a
// transaction, not a person), so precision is measured too.
//
// An entity is found when a finding of the same type covers all of it (what redaction needs);
// a finding is right when it overlaps an entity of its type. Figures are printed per type and
// overall; the test fails below the floors.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "earshot/analytics/pii.hpp"

namespace earshot::analytics {
namespace {

struct Entity {
  std::size_t segment = 0;
  std::string type;
  std::size_t begin = 0, end = 0;
};
struct Call {
  std::string id;
  std::vector<std::string> texts;
  std::vector<Entity> entities;
};

std::vector<Call> load(const std::string& name) {
  std::ifstream in(std::string(EARSHOT_SOURCE_DIR) + "/tests/analytics/data/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<Call> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    Call c;
    c.id = j.at("id").get<std::string>();
    for (const auto& s : j.at("segments")) c.texts.push_back(s.at("text").get<std::string>());
    for (const auto& e : j.at("entities")) {
      Entity en;
      en.segment = e.at("segment").get<std::size_t>();
      en.type = e.at("type").get<std::string>();
      en.begin = e.at("begin").get<std::size_t>();
      const auto text = e.at("text").get<std::string>();
      en.end = en.begin + text.size();
      // The data must say what it means: the text is at the offset.
      EXPECT_LT(en.segment, c.texts.size()) << c.id;
      if (en.segment < c.texts.size()) {
        EXPECT_EQ(c.texts[en.segment].substr(en.begin, text.size()), text) << c.id;
      }
      c.entities.push_back(en);
    }
    out.push_back(std::move(c));
  }
  return out;
}

struct Score {
  int expected = 0, found = 0;  // recall
  int findings = 0, right = 0;  // precision
};

struct Figures {
  std::map<std::string, Score> per_type;
  Score all;
  int leaked = 0;  // entities not covered by any finding (of any type): raw PII left in the text
  int pii_free_calls = 0, pii_free_clean = 0;
};

Figures evaluate(const std::vector<Call>& calls, const char* part) {
  Figures f;
  for (const auto& c : calls) {
    const auto found = find_pii_in_turns(c.texts);
    for (const auto& e : c.entities) {
      auto& sc = f.per_type[e.type];
      ++sc.expected;
      ++f.all.expected;
      bool covered = false;
      bool any = false;
      for (const auto& p : found) {
        if (p.segment != e.segment || p.begin > e.begin || p.end < e.end) continue;
        any = true;
        covered |= pii_name(p.type) == e.type;
      }
      if (covered) {
        ++sc.found;
        ++f.all.found;
      } else {
        std::printf("  [%s] missed %s in %s#%zu: \"%s\"%s\n", part, e.type.c_str(), c.id.c_str(), e.segment,
                    c.texts[e.segment].substr(e.begin, e.end - e.begin).c_str(),
                    any ? " (covered by another type)" : "");
      }
      if (!any) ++f.leaked;
    }
    for (const auto& p : found) {
      const std::string type(pii_name(p.type));
      auto& sc = f.per_type[type];
      ++sc.findings;
      ++f.all.findings;
      bool right = false;
      for (const auto& e : c.entities) {
        right |= e.segment == p.segment && e.type == type && p.begin < e.end && e.begin < p.end;
      }
      if (right) {
        ++sc.right;
        ++f.all.right;
      } else {
        std::printf("  [%s] false %s in %s#%zu: \"%s\"\n", part, type.c_str(), c.id.c_str(), p.segment,
                    c.texts[p.segment].substr(p.begin, p.end - p.begin).c_str());
      }
    }
    if (c.entities.empty()) {
      ++f.pii_free_calls;
      if (found.empty()) ++f.pii_free_clean;
    }
  }
  auto ratio = [](int a, int b) { return b == 0 ? 1.0 : static_cast<double>(a) / b; };
  std::printf("PII %s: %zu calls\n  %-15s %8s %7s %9s %9s\n", part, calls.size(), "type", "entities", "recall",
              "findings", "precision");
  for (const auto& [type, sc] : f.per_type) {
    std::printf("  %-15s %8d %7.3f %9d %9.3f\n", type.c_str(), sc.expected, ratio(sc.found, sc.expected), sc.findings,
                ratio(sc.right, sc.findings));
  }
  std::printf("  %-15s %8d %7.3f %9d %9.3f\n", "overall", f.all.expected, ratio(f.all.found, f.all.expected),
              f.all.findings, ratio(f.all.right, f.all.findings));
  std::printf("  entities left unredacted: %d; PII-free calls with no finding: %d/%d\n", f.leaked, f.pii_free_clean,
              f.pii_free_calls);
  return f;
}

double recall(const Score& s) {
  return s.expected == 0 ? 1.0 : static_cast<double>(s.found) / s.expected;
}
double precision(const Score& s) {
  return s.findings == 0 ? 1.0 : static_cast<double>(s.right) / s.findings;
}

const char* const kTypes[] = {"phone", "card",  "expiry",  "cvv",           "bank_account", "routing_number",
                              "ssn",   "email", "address", "date_of_birth", "person_name"};

TEST(PiiLabelled, SetCoversEveryTypeInSixtyCalls) {
  const auto tuning = load("pii_calls_tuning.jsonl");
  const auto heldout = load("pii_calls_heldout.jsonl");
  EXPECT_GE(tuning.size() + heldout.size(), 60u);
  for (const auto* part : {&tuning, &heldout}) {
    std::map<std::string, int> n;
    int pii_free = 0;
    for (const auto& c : *part) {
      for (const auto& e : c.entities) ++n[e.type];
      pii_free += c.entities.empty() ? 1 : 0;
    }
    for (const char* t : kTypes) EXPECT_GE(n[t], 3) << t;
    EXPECT_GE(pii_free, 5);
  }
}

TEST(PiiLabelled, TuningPartRecallAndPrecision) {
  const auto f = evaluate(load("pii_calls_tuning.jsonl"), "tuning");
  RecordProperty("recall", std::to_string(recall(f.all)));
  RecordProperty("precision", std::to_string(precision(f.all)));
  EXPECT_GE(recall(f.all), 1.0);
  EXPECT_GE(precision(f.all), 0.97);
  EXPECT_EQ(f.leaked, 0);
  EXPECT_EQ(f.pii_free_clean, f.pii_free_calls);
}

TEST(PiiLabelled, HeldOutPartRecallAndPrecision) {
  const auto f = evaluate(load("pii_calls_heldout.jsonl"), "held-out");
  RecordProperty("recall", std::to_string(recall(f.all)));
  RecordProperty("precision", std::to_string(precision(f.all)));
  EXPECT_GE(recall(f.all), 0.9);
  EXPECT_GE(precision(f.all), 0.9);
}

}  // namespace
}  // namespace earshot::analytics

// Category rules and scorecard questions. The gateway validates them with the very parser the
// analyze stage evaluates them with (libs/analytics, after the shared metrics document's
// "Categories" and "QA scorecards"), so a rule set the API accepts is one the analyzer runs.
#include "earshot/analytics/categories.hpp"
#include "earshot/api/gateway.hpp"

namespace earshot::api {

Status validate_category_rules(const Json& rules) {
  auto parsed = analytics::parse_rules(rules.dump());
  if (!parsed) return std::unexpected(parsed.error());
  return {};
}

Json scorecard_document(const Json& questions) {
  return Json{{"questions", questions}};
}

Status validate_scorecard_questions(const Json& questions) {
  auto parsed = analytics::parse_scorecard("scorecard", scorecard_document(questions).dump());
  if (!parsed) return std::unexpected(parsed.error());
  return {};
}

}  // namespace earshot::api

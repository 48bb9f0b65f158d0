#pragma once
// A JSON Schema validator for the subset agent output contracts use:
//   type (string or array of: object, array, string, number, integer, boolean, null),
//   properties, required, additionalProperties (false, or a schema), enum, items (one
//   schema), minimum / maximum, minLength / maxLength (in UTF-8 code points),
//   minItems / maxItems.
// Any other keyword is ignored. The first violation is reported with a JSON path, e.g.
// "$.bant.budget.evidence: expected string, got number".

#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::llm {

// kInvalidArgument with the violation, or with a parse error when `json_text` is not JSON.
// `schema_text` must be a JSON object (kInvalidArgument "schema: ..." otherwise).
[[nodiscard]] Status validate_json(std::string_view json_text, std::string_view schema_text);

// Model answers often wrap JSON in a Markdown code fence or add prose around it: returns the
// text between the first '{' and the last '}' when the whole text is not JSON already.
[[nodiscard]] std::string extract_json_object(std::string_view text);

}  // namespace earshot::llm

#pragma once
// Validation of message bodies against the versioned JSON Schemas in proto/messages/
// (compiled into the library). Supports the subset of JSON Schema those files use: type,
// required, properties, additionalProperties (boolean), enum, const, minLength, maxLength,
// minimum, maximum, items, pattern.

#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/queue/message.hpp"

namespace earshot::queue {

// kInvalidArgument with the first violation ("$.call_id: required") when `body` is not
// valid JSON, names no known schema version, or does not match the stage's schema. Never
// throws, for any byte sequence.
[[nodiscard]] Status validate_stage_body(Stage stage, int schema_version, std::string_view body);
[[nodiscard]] Status validate_control_body(std::string_view body);

// The file names of the compiled-in schemas ("analyze.v1.schema.json", ...), sorted.
[[nodiscard]] std::vector<std::string> schema_names();

}  // namespace earshot::queue

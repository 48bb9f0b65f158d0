#pragma once
// What messages.cpp shares with schema.cpp: one JSON parse of a body, checked against a
// compiled-in schema by the same validator the worker runs on receipt.

#include <nlohmann/json.hpp>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::queue::detail {

// kInvalidArgument "body is not valid JSON" / "body larger than 1 MiB".
[[nodiscard]] Result<nlohmann::json> parse_body(std::string_view body);
// kInvalidArgument with the first violation ("$.call_id: required"), or naming a schema file
// that is not compiled in ("no schema x.v2.schema.json: unknown schema version").
[[nodiscard]] Status validate_json(std::string_view schema_name, const nlohmann::json& value);

}  // namespace earshot::queue::detail

#include "earshot/llm/json_schema.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

namespace earshot::llm {

using nlohmann::json;

namespace {

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::null:
      return "null";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    default:
      return "unknown";
  }
}

bool has_type(const json& v, const std::string& t) {
  if (t == "number") return v.is_number();
  if (t == "integer") {
    if (v.is_number_integer()) return true;
    if (v.is_number_float()) {
      const double d = v.get<double>();
      return d == static_cast<double>(static_cast<long long>(d));
    }
    return false;
  }
  return type_name(v) == t;
}

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::optional<std::string> check(const json& v, const json& schema, const std::string& path) {
  if (!schema.is_object()) return std::nullopt;  // true / {} accept anything
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    std::string wanted;
    if (t->is_string()) {
      ok = has_type(v, t->get<std::string>());
      wanted = t->get<std::string>();
    } else if (t->is_array()) {
      for (const auto& one : *t) {
        if (!one.is_string()) continue;
        ok = ok || has_type(v, one.get<std::string>());
        wanted += (wanted.empty() ? "" : " or ") + one.get<std::string>();
      }
    } else {
      ok = true;
    }
    if (!ok) return fmt::format("{}: expected {}, got {}", path, wanted, type_name(v));
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool found = false;
    for (const auto& option : *e) found = found || option == v;
    if (!found) return fmt::format("{}: {} is not one of {}", path, v.dump(), e->dump());
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && m->is_number() && d < m->get<double>()) {
      return fmt::format("{}: {} is less than the minimum {}", path, v.dump(), m->dump());
    }
    if (auto m = schema.find("maximum"); m != schema.end() && m->is_number() && d > m->get<double>()) {
      return fmt::format("{}: {} is more than the maximum {}", path, v.dump(), m->dump());
    }
  }
  if (v.is_string()) {
    const auto len = utf8_length(v.get<std::string>());
    if (auto m = schema.find("minLength");
        m != schema.end() && m->is_number_unsigned() && len < m->get<std::size_t>()) {
      return fmt::format("{}: shorter than minLength {}", path, m->dump());
    }
    if (auto m = schema.find("maxLength");
        m != schema.end() && m->is_number_unsigned() && len > m->get<std::size_t>()) {
      return fmt::format("{}: longer than maxLength {}", path, m->dump());
    }
  }
  if (v.is_array()) {
    if (auto m = schema.find("minItems");
        m != schema.end() && m->is_number_unsigned() && v.size() < m->get<std::size_t>()) {
      return fmt::format("{}: fewer than minItems {}", path, m->dump());
    }
    if (auto m = schema.find("maxItems");
        m != schema.end() && m->is_number_unsigned() && v.size() > m->get<std::size_t>()) {
      return fmt::format("{}: more than maxItems {}", path, m->dump());
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (auto err = check(v[i], *items, fmt::format("{}[{}]", path, i))) return err;
      }
    }
  }
  if (v.is_object()) {
    if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
      for (const auto& name : *req) {
        if (name.is_string() && !v.contains(name.get<std::string>())) {
          return fmt::format("{}: missing required property \"{}\"", path, name.get<std::string>());
        }
      }
    }
    const auto props = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (const auto& [key, value] : v.items()) {
      const std::string sub = fmt::format("{}.{}", path, key);
      if (props != schema.end() && props->is_object() && props->contains(key)) {
        if (auto err = check(value, (*props)[key], sub)) return err;
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>()) {
          return fmt::format("{}: property \"{}\" is not allowed", path, key);
        }
        if (auto err = check(value, *additional, sub)) return err;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Status validate_json(std::string_view json_text, std::string_view schema_text) {
  const auto schema = json::parse(schema_text, nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "schema: not a JSON object");
  }
  const auto value = json::parse(json_text, nullptr, false);
  if (value.is_discarded()) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("not valid JSON: {}", json_text.substr(0, 120)));
  }
  if (auto err = check(value, schema, "$")) return make_error(ErrorCode::kInvalidArgument, *err);
  return {};
}

std::string extract_json_object(std::string_view text) {
  if (json::accept(text)) return std::string(text);
  const auto first = text.find('{');
  const auto last = text.rfind('}');
  if (first == std::string_view::npos || last == std::string_view::npos || last < first) {
    return std::string(text);
  }
  return std::string(text.substr(first, last - first + 1));
}

}  // namespace earshot::llm

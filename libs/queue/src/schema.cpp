#include "earshot/queue/schema.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>

#include "schema_internal.hpp"

namespace earshot::queue {

namespace detail {
// Generated from proto/messages/*.schema.json (file name -> content).
extern const std::pair<std::string_view, std::string_view> kEmbeddedSchemas[];
extern const std::size_t kEmbeddedSchemaCount;
}  // namespace detail

namespace {

using nlohmann::json;
constexpr std::size_t kMaxBodyBytes = 1 << 20;

const std::map<std::string, json, std::less<>>& schemas() {
  static const auto* all = [] {
    auto* m = new std::map<std::string, json, std::less<>>();
    for (std::size_t i = 0; i < detail::kEmbeddedSchemaCount; ++i) {
      const auto& [name, text] = detail::kEmbeddedSchemas[i];
      // Schema files are part of the build; a broken one is a bug and fails loudly here.
      (*m)[std::string(name)] = json::parse(text);
    }
    return m;
  }();
  return *all;
}

const std::regex& compiled(const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::regex> cache;
  std::lock_guard l(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

bool has_type(const json& v, std::string_view type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  return false;
}

std::unexpected<Error> violation(const std::string& path, std::string_view what) {
  return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", path, what));
}

Status check(const json& schema, const json& v, const std::string& path) {
  if (auto c = schema.find("const"); c != schema.end() && *c != v) {
    return violation(path, fmt::format("must be {}", c->dump()));
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    bool found = false;
    for (const auto& option : *e) found = found || option == v;
    if (!found) return violation(path, fmt::format("must be one of {}", e->dump()));
  }
  if (auto t = schema.find("type"); t != schema.end() && !has_type(v, t->get<std::string>())) {
    return violation(path, fmt::format("must be of type {}", t->get<std::string>()));
  }
  if (v.is_object()) {
    if (auto req = schema.find("required"); req != schema.end()) {
      for (const auto& k : *req) {
        if (!v.contains(k.get<std::string>())) {
          return violation(path + "." + k.get<std::string>(), "required");
        }
      }
    }
    auto props = schema.find("properties");
    const bool closed = schema.value("additionalProperties", true) == false;
    for (const auto& [k, item] : v.items()) {
      if (props != schema.end() && props->contains(k)) {
        if (auto st = check((*props)[k], item, fmt::format("{}.{}", path, k)); !st) return st;
      } else if (closed) {
        return violation(fmt::format("{}.{}", path, k), "not allowed");
      }
    }
  }
  if (v.is_array()) {
    if (auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (auto st = check(*items, v[i], fmt::format("{}[{}]", path, i)); !st) return st;
      }
    }
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<std::size_t>()) {
      return violation(path, "too short");
    }
    if (schema.contains("maxLength") && s.size() > schema["maxLength"].get<std::size_t>()) {
      return violation(path, "too long");
    }
    if (auto p = schema.find("pattern"); p != schema.end() && !std::regex_search(s, compiled(p->get<std::string>()))) {
      return violation(path, "does not match the pattern");
    }
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    if (schema.contains("minimum") && d < schema["minimum"].get<double>()) {
      return violation(path, "below the minimum");
    }
    if (schema.contains("maximum") && d > schema["maximum"].get<double>()) {
      return violation(path, "above the maximum");
    }
  }
  return {};
}

Status validate(std::string_view schema_name, std::string_view body) {
  if (!schemas().contains(schema_name)) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("no schema {}: unknown schema version", schema_name));
  }
  auto v = detail::parse_body(body);
  if (!v) return std::unexpected(v.error());
  return detail::validate_json(schema_name, *v);
}

}  // namespace

namespace detail {

Result<nlohmann::json> parse_body(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return make_error(ErrorCode::kInvalidArgument, "body larger than 1 MiB");
  }
  json v = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) return make_error(ErrorCode::kInvalidArgument, "body is not valid JSON");
  return v;
}

Status validate_json(std::string_view schema_name, const nlohmann::json& value) {
  const auto& all = schemas();
  auto it = all.find(schema_name);
  if (it == all.end()) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("no schema {}: unknown schema version", schema_name));
  }
  return check(it->second, value, "$");
}

}  // namespace detail

std::vector<std::string> schema_names() {
  std::vector<std::string> out;
  for (const auto& [name, schema] : schemas()) out.push_back(name);
  return out;
}

Status validate_stage_body(Stage stage, int schema_version, std::string_view body) {
  return validate(fmt::format("{}.v{}.schema.json", stage_name(stage), schema_version), body);
}

Status validate_control_body(std::string_view body) {
  return validate("control.v1.schema.json", body);
}

}  // namespace earshot::queue

#include "earshot/core/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

extern char** environ;  // NOLINT: POSIX

namespace earshot {

EnvMap current_environment() {
  EnvMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::string env_name_for(std::string_view key) {
  std::string out(kEnvPrefix);
  for (char c : key) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

namespace {

std::string to_key(std::string_view env_name) {
  std::string out;
  for (char c : env_name.substr(kEnvPrefix.size())) {
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

Result<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("'{}' is not an integer", text));
  }
  return v;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms != 0 && ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) ++i;
  if (i == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("'{}' is not a duration (examples: 250ms, 5s, 2m, 1h)", text));
  }
  auto number = parse_int(text.substr(0, i));
  if (!number || *number > 1'000'000'000) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("'{}' is out of range", text));
  }
  std::string_view unit = text.substr(i);
  std::int64_t mult = 0;
  if (unit.empty() || unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1000;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  else {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("'{}' has an unknown unit '{}' (use ms, s, m or h)", text, unit));
  }
  return std::chrono::milliseconds(*number * mult);
}

ConfigSpec::Entry& ConfigSpec::add(std::string key, std::string type, std::string help, Options opts) {
  auto e = std::make_unique<Entry>();
  e->key = std::move(key);
  e->type = std::move(type);
  e->help = std::move(help);
  e->opts = opts;
  entries_.push_back(std::move(e));
  return *entries_.back();
}

ConfigSpec& ConfigSpec::add_string(std::string key, std::string* target, std::string def, std::string help,
                                   Options opts) {
  Entry& e = add(std::move(key), "string", std::move(help), opts);
  e.default_text = def;
  e.apply_default = [target, def = std::move(def)] { *target = def; };
  e.parse = [target](const std::string& v) -> Status {
    *target = v;
    return {};
  };
  e.show = [target] { return *target; };
  return *this;
}

ConfigSpec& ConfigSpec::add_int(std::string key, std::int64_t* target, std::int64_t def, std::int64_t min,
                                std::int64_t max, std::string help, Options opts) {
  Entry& e = add(std::move(key), fmt::format("int {}..{}", min, max), std::move(help), opts);
  e.default_text = std::to_string(def);
  e.apply_default = [target, def] { *target = def; };
  e.parse = [target, min, max](const std::string& v) -> Status {
    auto n = parse_int(v);
    if (!n) return std::unexpected(n.error());
    if (*n < min || *n > max) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{} is outside {}..{}", *n, min, max));
    }
    *target = *n;
    return {};
  };
  e.show = [target] { return std::to_string(*target); };
  return *this;
}

ConfigSpec& ConfigSpec::add_bool(std::string key, bool* target, bool def, std::string help) {
  Entry& e = add(std::move(key), "bool", std::move(help), {});
  e.default_text = def ? "true" : "false";
  e.apply_default = [target, def] { *target = def; };
  e.parse = [target](const std::string& v) -> Status {
    if (v == "true" || v == "1" || v == "yes" || v == "on") {
      *target = true;
    } else if (v == "false" || v == "0" || v == "no" || v == "off") {
      *target = false;
    } else {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("'{}' is not a boolean (true/false)", v));
    }
    return {};
  };
  e.show = [target] { return std::string(*target ? "true" : "false"); };
  return *this;
}

ConfigSpec& ConfigSpec::add_duration(std::string key, std::chrono::milliseconds* target, std::chrono::milliseconds def,
                                     std::chrono::milliseconds min, std::chrono::milliseconds max, std::string help) {
  Entry& e = add(std::move(key), fmt::format("duration {}..{}", format_duration(min), format_duration(max)),
                 std::move(help), {});
  e.default_text = format_duration(def);
  e.apply_default = [target, def] { *target = def; };
  e.parse = [target, min, max](const std::string& v) -> Status {
    auto d = parse_duration(v);
    if (!d) return std::unexpected(d.error());
    if (*d < min || *d > max) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("{} is outside {}..{}", v, format_duration(min), format_duration(max)));
    }
    *target = *d;
    return {};
  };
  e.show = [target] { return format_duration(*target); };
  return *this;
}

ConfigSpec& ConfigSpec::add_enum(std::string key, std::string* target, std::string def,
                                 std::vector<std::string> allowed, std::string help) {
  std::string joined;
  for (const auto& a : allowed) joined += (joined.empty() ? "" : "|") + a;
  Entry& e = add(std::move(key), "one of " + joined, std::move(help), {});
  e.default_text = def;
  e.apply_default = [target, def = std::move(def)] { *target = def; };
  e.parse = [target, allowed = std::move(allowed), joined](const std::string& v) -> Status {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("'{}' is not one of {}", v, joined));
    }
    *target = v;
    return {};
  };
  e.show = [target] { return *target; };
  return *this;
}

ConfigSpec::Entry* ConfigSpec::find(std::string_view key_or_alias) const {
  for (const auto& e : entries_) {
    if (e->key == key_or_alias) return e.get();
  }
  if (auto it = aliases_.find(key_or_alias); it != aliases_.end()) return it->second;
  return nullptr;
}

ConfigSpec& ConfigSpec::set_default(std::string_view key, std::string value) {
  Entry* e = find(key);
  if (e == nullptr || e->key != key) {
    wiring_errors_.push_back(fmt::format("set_default: config key '{}' is not declared", key));
    return *this;
  }
  if (auto st = e->parse(value); !st) {
    wiring_errors_.push_back(fmt::format("set_default: config key '{}': {}", key, st.error().message));
    return *this;
  }
  e->default_text = value;
  e->apply_default = [parse = e->parse, value = std::move(value)] { (void)parse(value); };
  return *this;
}

ConfigSpec& ConfigSpec::add_alias(std::string old_key, std::string_view key) {
  Entry* e = find(key);
  if (e == nullptr || e->key != key || find(old_key) != nullptr) {
    wiring_errors_.push_back(
        fmt::format("add_alias: '{}' for '{}' (the key must be declared, the alias not)", old_key, key));
    return *this;
  }
  e->aliases.push_back(old_key);
  aliases_.emplace(std::move(old_key), e);
  return *this;
}

Status ConfigSpec::apply_value(Entry& e, const std::string& value, std::string_view source) {
  auto st = e.parse(value);
  if (!st) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("config {} ({}): invalid value: {}", env_name_for(e.key), source,
                                  e.opts.secret ? "(secret value hidden)" : st.error().message));
  }
  e.set = true;
  return {};
}

Status ConfigSpec::load(const EnvMap& env, const std::string& file_path) {
  std::string path = file_path;
  if (path.empty()) {
    if (auto it = env.find(std::string(kConfigFileVar)); it != env.end()) path = it->second;
  }
  if (path.empty()) return load_impl(env, nullptr);
  std::ifstream in(path);
  if (!in) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("config file '{}' cannot be read", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string content = ss.str();
  auto st = load_impl(env, &content);
  if (!st) return std::unexpected(st.error().with_context(fmt::format("config file '{}'", path)));
  return st;
}

Status ConfigSpec::load_from(const EnvMap& env, const std::string& file_json) {
  return load_impl(env, &file_json);
}

Status ConfigSpec::load_impl(const EnvMap& env, const std::string* file_json) {
  if (!wiring_errors_.empty()) return make_error(ErrorCode::kInvalidArgument, wiring_errors_.front());
  // An entry set twice by one source (a key and its older name): which one wins would be a guess.
  std::map<const Entry*, std::string> seen;
  auto once = [&seen](const Entry& e, const std::string& name) -> Status {
    auto [it, fresh] = seen.emplace(&e, name);
    if (fresh) return {};
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("config {} and {} name the same setting: set one of them", it->second, name));
  };
  for (auto& e : entries_) {
    e->apply_default();
    e->set = false;
  }

  if (file_json != nullptr) {
    nlohmann::json doc = nlohmann::json::parse(*file_json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return make_error(ErrorCode::kInvalidArgument, "not a JSON object of key: value");
    }
    for (const auto& [k, v] : doc.items()) {
      Entry* e = find(k);
      if (e == nullptr) {
        return make_error(ErrorCode::kInvalidArgument, fmt::format("unknown config key '{}'", k));
      }
      if (auto st = once(*e, k); !st) return st;
      std::string text;
      if (v.is_string())
        text = v.get<std::string>();
      else if (v.is_boolean())
        text = v.get<bool>() ? "true" : "false";
      else if (v.is_number_integer())
        text = std::to_string(v.get<std::int64_t>());
      else {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("config key '{}' must be a string, integer or boolean", k));
      }
      if (auto st = apply_value(*e, text, "file"); !st) return st;
    }
  }

  seen.clear();  // the environment overrides the file, as always
  for (const auto& [name, value] : env) {
    if (!name.starts_with(kEnvPrefix) || name == kConfigFileVar) continue;
    Entry* e = find(to_key(name));
    if (e == nullptr) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("unknown config variable {} (see --help for the keys this "
                                    "binary accepts)",
                                    name));
    }
    if (auto st = once(*e, name); !st) return st;
    if (auto st = apply_value(*e, value, "environment"); !st) return st;
  }

  for (auto& e : entries_) {
    if (e->opts.required && !e->set) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("config {} is required", env_name_for(e->key)));
    }
  }
  return {};
}

std::string ConfigSpec::help_text() const {
  std::string out;
  std::size_t width = 0;
  for (const auto& [alias, e] : aliases_) width = std::max(width, env_name_for(alias).size());
  for (const auto& e : entries_) width = std::max(width, env_name_for(e->key).size());
  for (const auto& e : entries_) {
    std::string def = e->opts.required ? "required"
                      : e->opts.secret ? "secret"
                                       : fmt::format("default '{}'", e->default_text);
    out += fmt::format("  {:<{}}  {} [{}; {}]\n", env_name_for(e->key), width, e->help, e->type, def);
    for (const auto& alias : e->aliases) {
      out +=
          fmt::format("  {:<{}}  older name of {}, still accepted\n", env_name_for(alias), width, env_name_for(e->key));
    }
  }
  return out;
}

std::map<std::string, std::string> ConfigSpec::effective_values() const {
  std::map<std::string, std::string> out;
  for (const auto& e : entries_) {
    std::string v = e->show();
    out[e->key] = e->opts.secret ? (v.empty() ? "" : "***") : v;
  }
  return out;
}

}  // namespace earshot

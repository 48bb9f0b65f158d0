#pragma once
// Typed configuration, parsed once at start.
//
// A binary declares every key it accepts on a ConfigSpec, bound to a field of its config
// struct. Sources, later ones winning: declared defaults, an optional JSON file (flat object
// of `key: value`), then environment variables `EARSHOT_<KEY>` (key upper-cased).
// Any EARSHOT_* variable or file key that the binary does not declare, and any value that
// does not parse or is out of range, is an error naming the key: the process must refuse to
// start rather than run with a typo'd setting silently ignored.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot {

// The process environment as a map, injectable for tests.
using EnvMap = std::map<std::string, std::string>;
[[nodiscard]] EnvMap current_environment();

// Env prefix for every key, e.g. key "mysql_port" <-> EARSHOT_MYSQL_PORT.
inline constexpr std::string_view kEnvPrefix = "EARSHOT_";
// The file is named by this variable or by --config on the command line.
inline constexpr std::string_view kConfigFileVar = "EARSHOT_CONFIG_FILE";

[[nodiscard]] std::string env_name_for(std::string_view key);

// "250ms", "5s", "2m", "1h", or a bare integer meaning milliseconds.
[[nodiscard]] Result<std::chrono::milliseconds> parse_duration(std::string_view text);

struct ConfigOptions {
  bool required = false;  // no default; must be set
  bool secret = false;    // value never printed (help shows no default; dumps show ***)
};

class ConfigSpec {
 public:
  using Options = ConfigOptions;

  ConfigSpec& add_string(std::string key, std::string* target, std::string def, std::string help, Options opts = {});
  ConfigSpec& add_int(std::string key, std::int64_t* target, std::int64_t def, std::int64_t min, std::int64_t max,
                      std::string help, Options opts = {});
  ConfigSpec& add_bool(std::string key, bool* target, bool def, std::string help);
  ConfigSpec& add_duration(std::string key, std::chrono::milliseconds* target, std::chrono::milliseconds def,
                           std::chrono::milliseconds min, std::chrono::milliseconds max, std::string help);
  ConfigSpec& add_enum(std::string key, std::string* target, std::string def, std::vector<std::string> allowed,
                       std::string help);

  // A binary's own default for a key a library declared (the stage worker's handler threads,
  // sized per stage). `value` is text as the environment would give it; --help shows it. A
  // key not declared yet or a value that does not parse is a wiring bug: load() reports it.
  ConfigSpec& set_default(std::string_view key, std::string value);
  // An older name of the declared `key`, still accepted (EARSHOT_<OLD_KEY> or a file key)
  // with the same meaning, and listed by --help. Both names set in the same source is an
  // error naming both. An undeclared `key` is a wiring bug that load() reports.
  ConfigSpec& add_alias(std::string old_key, std::string_view key);

  // Applies defaults, then the file (if `file_path` is non-empty; else EARSHOT_CONFIG_FILE
  // from env if set), then the environment. Errors are kInvalidArgument naming the key.
  [[nodiscard]] Status load(const EnvMap& env, const std::string& file_path = {});

  // Same as load() but the file content is given directly (for tests).
  [[nodiscard]] Status load_from(const EnvMap& env, const std::string& file_json);

  // Human-readable list of keys for --help: env name, type, default, description.
  [[nodiscard]] std::string help_text() const;
  // Current effective values, secrets masked; for the startup log line.
  [[nodiscard]] std::map<std::string, std::string> effective_values() const;

 private:
  struct Entry {
    std::string key;
    std::string type;  // "string", "int", "bool", "duration", "enum"
    std::string help;
    std::string default_text;
    Options opts;
    bool set = false;
    std::function<void()> apply_default;
    std::function<Status(const std::string&)> parse;
    std::function<std::string()> show;
    std::vector<std::string> aliases;  // older names, see add_alias
  };
  Entry& add(std::string key, std::string type, std::string help, Options opts);
  [[nodiscard]] Status apply_value(Entry& e, const std::string& value, std::string_view source);
  [[nodiscard]] Status load_impl(const EnvMap& env, const std::string* file_json);
  [[nodiscard]] Entry* find(std::string_view key_or_alias) const;

  std::vector<std::unique_ptr<Entry>> entries_;
  std::map<std::string, Entry*, std::less<>> aliases_;  // older name -> entry
  std::vector<std::string> wiring_errors_;              // from set_default / add_alias
};

}  // namespace earshot

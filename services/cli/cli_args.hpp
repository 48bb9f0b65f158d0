#pragma once
// Command-line pieces the `earshot` subcommands share: `--flag VALUE` options with positional
// arguments, and secrets read from the first line of a file (kept out of the process list).

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace earshot::cli {

// One `--flag VALUE` option and where its value goes (the last occurrence wins).
struct Flag {
  std::string_view name;  // "--url"
  std::string* value;
};

enum class ArgsOutcome { kOk, kHelp, kBad };

struct ParsedArgs {
  ArgsOutcome outcome = ArgsOutcome::kOk;
  std::string error;                    // kBad: what was wrong, to print after "earshot CMD: "
  std::vector<std::string> positional;  // arguments not starting with "--", in order
};

// Reads `args` against `flags`; `--help` / `-h` ends the parse with kHelp. An unknown option,
// a flag without its value, or more than `max_positional` positional arguments is kBad.
[[nodiscard]] ParsedArgs parse_args(std::span<char* const> args, std::initializer_list<Flag> flags,
                                    std::size_t max_positional = 0);

// The first line of `path` without its line ending; nullopt when the file cannot be read or
// that line is empty.
[[nodiscard]] std::optional<std::string> first_line_of(const std::string& path);

}  // namespace earshot::cli

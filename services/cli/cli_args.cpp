#include "cli_args.hpp"

#include <fmt/format.h>

#include <fstream>

namespace earshot::cli {

ParsedArgs parse_args(std::span<char* const> args, std::initializer_list<Flag> flags, std::size_t max_positional) {
  ParsedArgs out;
  const auto bad = [&out](std::string why) {
    out.outcome = ArgsOutcome::kBad;
    out.error = std::move(why);
    return out;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    if (a == "--help" || a == "-h") {
      out.outcome = ArgsOutcome::kHelp;
      return out;
    }
    if (!a.starts_with("--")) {
      if (out.positional.size() >= max_positional) {
        return bad(max_positional == 0 ? fmt::format("unexpected argument '{}'", a)
                                       : fmt::format("too many arguments ('{}'; quote one that has spaces)", a));
      }
      out.positional.emplace_back(a);
      continue;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags) {
      if (f.name == a) flag = &f;
    }
    if (flag == nullptr) return bad(fmt::format("unknown option '{}'", a));
    if (i + 1 >= args.size()) return bad(fmt::format("{} needs a value", a));
    *flag->value = args[++i];
  }
  return out;
}

std::optional<std::string> first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return std::nullopt;
  return line;
}

}  // namespace earshot::cli

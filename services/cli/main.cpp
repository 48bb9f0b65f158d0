// earshot: the admin command line. Subcommands are registered in kCommands; each parses its
// own arguments and returns the process exit code (0 ok, 1 failed, 2 usage or config error).
#include <fmt/format.h>

#include <functional>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/service.hpp"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  std::function<int(std::span<char*>)> run;
};

int print_usage(const std::vector<Command>& commands, std::ostream& out) {
  out << fmt::format("earshot {} - Earshot admin command line\n\n", earshot::build_version());
  out << "Usage: earshot <command> [options]\n       earshot --help | --version\n\nCommands:\n";
  for (const auto& c : commands) out << fmt::format("  {:<12} {}\n", c.name, c.summary);
  out << "\nConfiguration comes from EARSHOT_* environment variables, as for the services;\n"
         "`earshot <command> --help` lists a command's options.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Command> commands = {
      {"version", "print version and commit",
       [](std::span<char*>) {
         std::cout << fmt::format("earshot {} (commit {})\n", earshot::build_version(),
                                  earshot::build_commit());
         return 0;
       }},
  };
  if (argc < 2) {
    print_usage(commands, std::cerr);
    return 2;
  }
  std::string_view first(argv[1]);
  if (first == "--help" || first == "-h" || first == "help") return print_usage(commands, std::cout);
  if (first == "--version") first = "version";
  for (const auto& c : commands) {
    if (c.name == first) return c.run(std::span<char*>(argv + 2, static_cast<std::size_t>(argc - 2)));
  }
  std::cerr << fmt::format("earshot: unknown command '{}' (see earshot --help)\n", first);
  return 2;
}

#pragma once
#include <span>

namespace earshot::cli {
// Returns the exit code: 0 ok, 1 engine failure, 2 bad arguments or a file that cannot be analysed.
int analyze_file(std::span<char*> args);
}  // namespace earshot::cli

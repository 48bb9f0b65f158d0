// What every benchmark program needs: stop with the reason when a set-up step fails, read
// comma-separated flag values ("--threads 1,2"), and read a process's /proc/<pid>/status.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::bench {

// Prints "<program>: <what>: <error>" and exits 1.
[[noreturn]] inline void fail(std::string_view what, const Error& e) {
  std::cerr << program_invocation_short_name << ": " << what << ": " << e.to_string() << "\n";
  std::exit(1);
}

template <class T>
T need(Result<T> r, std::string_view what) {
  if (!r) fail(what, r.error());
  return std::move(*r);
}
inline void need(const Status& s, std::string_view what) {
  if (!s) fail(what, s.error());
}

// "a,b,,c" -> {"a", "b", "c"}.
inline std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    const auto end = comma == std::string_view::npos ? s.size() : comma;
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "1,2,8" -> {1, 2, 8}; anything not a number stops the program with the reason.
inline std::vector<std::size_t> split_numbers(std::string_view s) {
  std::vector<std::size_t> out;
  for (const auto& part : split(s)) {
    char* end = nullptr;
    const auto v = std::strtoull(part.c_str(), &end, 10);
    if (end == part.c_str() || *end != '\0') {
      std::cerr << program_invocation_short_name << ": not a number: " << part << "\n";
      std::exit(2);
    }
    out.push_back(static_cast<std::size_t>(v));
  }
  return out;
}

// A field of /proc/{pid}/status in kB (pid 0: this process); -1 when absent.
inline long status_kb(pid_t pid, const std::string& key) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + ":")) return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return -1;
}

}  // namespace earshot::bench

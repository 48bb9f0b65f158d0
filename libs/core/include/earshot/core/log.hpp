#pragma once
// Structured logging. Every line is one JSON object:
//   {"ts":"2026-11-21T09:40:00.123Z","level":"info","service":"stt","msg":"...",
//    "bid":"acme","call_id":"42","trace_id":"...", ...extra fields}
// bid / call_id / trace_id come from the calling thread's LogContext (set by whatever is
// handling a message or request); extra fields are passed per call.
// Never log secrets: config dumps mask them, and callers must not pass them as fields.

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace earshot::log {

struct Context {
  std::string bid{};
  std::string call_id{};
  std::string trace_id{};
};

// Sets the calling thread's context for its lifetime, restoring the previous one after.
class ScopedContext {
 public:
  explicit ScopedContext(Context ctx);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  Context previous_;
};

[[nodiscard]] const Context& current_context();

enum class Format { kJson, kText };

// Installs the process-wide logger writing to stderr. `level` is one of
// trace, debug, info, warn, error.
void init(std::string_view service, std::string_view level, Format format = Format::kJson);

// Installs a logger writing to `sink` (tests capture lines with an ostream sink).
void init_with_sink(std::string_view service, std::string_view level, Format format, spdlog::sink_ptr sink);

using Field = std::pair<std::string_view, std::string_view>;
using Fields = std::initializer_list<Field>;

void write(spdlog::level::level_enum level, std::string_view msg, Fields fields = {});
inline void trace(std::string_view msg, Fields f = {}) {
  write(spdlog::level::trace, msg, f);
}
inline void debug(std::string_view msg, Fields f = {}) {
  write(spdlog::level::debug, msg, f);
}
inline void info(std::string_view msg, Fields f = {}) {
  write(spdlog::level::info, msg, f);
}
inline void warn(std::string_view msg, Fields f = {}) {
  write(spdlog::level::warn, msg, f);
}
inline void error(std::string_view msg, Fields f = {}) {
  write(spdlog::level::err, msg, f);
}

// JSON string escaping (RFC 8259), exposed for reuse and tests.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace earshot::log

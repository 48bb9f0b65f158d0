#include "earshot/core/log.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

namespace earshot::log {
namespace {

thread_local Context t_context;

// The extra fields travel from write() to the formatter in the message payload itself:
// write() renders `"msg":...,<fields>` and the formatter wraps it. This keeps one JSON object
// per line even when other code logs through spdlog directly (those payloads get escaped).
constexpr std::string_view kPreRendered = "\x1e";  // marks a payload rendered by write()

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string service) : service_(std::move(service)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(256);
    const auto since = msg.time.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs);
    const std::time_t tt = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&tt, &tm);
    line += fmt::format("{{\"ts\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\"", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis.count());
    line += ",\"level\":\"";
    auto lv = spdlog::level::to_string_view(msg.level);
    line.append(lv.data(), lv.size());
    line += "\",\"service\":\"";
    append_json_escaped(line, service_);
    line += '"';
    const Context& ctx = t_context;
    if (!ctx.bid.empty()) {
      line += ",\"bid\":\"";
      append_json_escaped(line, ctx.bid);
      line += '"';
    }
    if (!ctx.call_id.empty()) {
      line += ",\"call_id\":\"";
      append_json_escaped(line, ctx.call_id);
      line += '"';
    }
    if (!ctx.trace_id.empty()) {
      line += ",\"trace_id\":\"";
      append_json_escaped(line, ctx.trace_id);
      line += '"';
    }
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload.starts_with(kPreRendered)) {
      line += ',';
      line.append(payload.substr(kPreRendered.size()));
    } else {
      line += ",\"msg\":\"";
      append_json_escaped(line, payload);
      line += '"';
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(service_);
  }

 private:
  std::string service_;
};

std::string g_service;
Format g_format = Format::kJson;

}  // namespace

ScopedContext::ScopedContext(Context ctx) : previous_(std::move(t_context)) {
  t_context = std::move(ctx);
}
ScopedContext::~ScopedContext() {
  t_context = std::move(previous_);
}

const Context& current_context() {
  return t_context;
}

void append_json_escaped(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void init_with_sink(std::string_view service, std::string_view level, Format format, spdlog::sink_ptr sink) {
  g_service = std::string(service);
  g_format = format;
  auto logger = std::make_shared<spdlog::logger>(g_service, std::move(sink));
  if (format == Format::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>(g_service));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::trace);
  // write() logs through the raw default logger, without a lock: a logger replaced while other
  // threads log (a test capturing the log of a running server) is kept alive, never destroyed
  // under them. One logger per init call.
  static std::mutex retired_mu;
  static std::vector<std::shared_ptr<spdlog::logger>> retired;
  {
    std::lock_guard lock(retired_mu);
    if (auto old = spdlog::default_logger()) retired.push_back(std::move(old));
  }
  spdlog::set_default_logger(std::move(logger));
}

void init(std::string_view service, std::string_view level, Format format) {
  init_with_sink(service, level, format, std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

void write(spdlog::level::level_enum level, std::string_view msg, Fields fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  if (g_format == Format::kText) {
    std::string text(msg);
    const Context& ctx = t_context;
    if (!ctx.bid.empty()) text += " bid=" + ctx.bid;
    if (!ctx.call_id.empty()) text += " call_id=" + ctx.call_id;
    for (const auto& [k, v] : fields) {
      text += ' ';
      text.append(k);
      text += '=';
      text.append(v);
    }
    logger->log(level, "{}", text);
    return;
  }
  std::string payload(kPreRendered);
  payload += "\"msg\":\"";
  append_json_escaped(payload, msg);
  payload += '"';
  for (const auto& [k, v] : fields) {
    payload += ",\"";
    append_json_escaped(payload, k);
    payload += "\":\"";
    append_json_escaped(payload, v);
    payload += '"';
  }
  logger->log(level, "{}", payload);
}

}  // namespace earshot::log

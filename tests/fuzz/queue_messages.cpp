// Stage and control messages as a worker receives them: the body through every message
// type's parse (schema check included) and back (a body that parses must survive to_json
// and parse again unchanged), and the AMQP headers through the envelope decoder.
// Input: a body; its lines of "name=value" double as headers (digits make an integer).
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/queue/message.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/schema.hpp"

namespace q = earshot::queue;

namespace {

template <class M>
void round_trip(std::string_view body) {
  auto m = M::parse(body);
  if (!m) return;
  auto again = M::parse(m->to_json());
  if (!again || !(*again == *m)) __builtin_trap();
}

q::Headers headers_of(std::string_view input) {
  q::Headers h;
  while (!input.empty()) {
    const auto nl = input.find('\n');
    const auto line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const auto value = line.substr(eq + 1);
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc() && p == value.data() + value.size()) {
      h[std::string(line.substr(0, eq))] = n;
    } else {
      h[std::string(line.substr(0, eq))] = std::string(value);
    }
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  round_trip<q::SyncRequest>(body);
  round_trip<q::TranscribeRequest>(body);
  round_trip<q::AnalyzeRequest>(body);
  round_trip<q::NotifyRequest>(body);
  round_trip<q::EmbedRequest>(body);
  round_trip<q::BusinessEvent>(body);
  (void)q::validate_control_body(body);
  for (auto stage : q::kAllStages) (void)q::validate_stage_body(stage, 1, body);
  (void)q::audio_format_of(body);
  (void)q::parse_stage(body);
  (void)q::is_valid_bid(body);

  const auto headers = headers_of(body);
  (void)q::decode_envelope(headers, "fuzz");
  const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000));
  if (auto age = q::message_age(headers, now); age && age->count() < 0) __builtin_trap();
  return 0;
}

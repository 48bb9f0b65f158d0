#include "earshot/notify/events.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include "earshot/queue/message.hpp"

namespace earshot::notify {

bool known_event_type(std::string_view type) {
  for (auto t : kEventTypes) {
    if (t == type) return true;
  }
  return false;
}

std::string event_id(std::string_view bid, std::int64_t call_id, std::string_view type,
                     std::string_view discriminator) {
  const auto text = fmt::format("{}\n{}\n{}\n{}", bid, call_id, type, discriminator);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, digest, 16);
  return "evt_" + std::string(hex, 32);
}

nlohmann::json make_event(std::string_view id, std::string_view type, std::string_view bid,
                          std::chrono::system_clock::time_point created_at, nlohmann::json data) {
  return nlohmann::json{
      {"id", id},   {"type", type},           {"version", kEventVersion}, {"created_at", queue::format_utc(created_at)},
      {"bid", bid}, {"data", std::move(data)}};
}

}  // namespace earshot::notify

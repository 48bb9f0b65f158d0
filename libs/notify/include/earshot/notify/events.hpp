#pragma once
// The versioned webhook event (proto/events/webhook_event.v1.schema.json):
//
//   {"id": "evt_…", "type": "call.analyzed", "version": 1, "created_at": "2026-11-21T09:40:00.000Z",
//    "bid": "acme", "data": {...}}
//
// The id is derived from what the event is about (business, call, type and a discriminator
// such as the time the call reached its status), so re-running the notify stage for the same
// call state yields the same id and receivers can de-duplicate on it; retries resend the
// stored body unchanged.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace earshot::notify {

inline constexpr int kEventVersion = 1;

// Event types a subscription may ask for.
inline constexpr std::string_view kEventTypes[] = {"call.analyzed", "call.failed", "escalation.created",
                                                   "category.matched", "webhook.test"};
[[nodiscard]] bool known_event_type(std::string_view type);

// "evt_" + 32 hex characters of SHA-256 over the parts.
[[nodiscard]] std::string event_id(std::string_view bid, std::int64_t call_id, std::string_view type,
                                   std::string_view discriminator);

[[nodiscard]] nlohmann::json make_event(std::string_view id, std::string_view type, std::string_view bid,
                                        std::chrono::system_clock::time_point created_at, nlohmann::json data);

}  // namespace earshot::notify

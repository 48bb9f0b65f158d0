#include "earshot/queue/control.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace earshot::queue {

namespace {
std::string_view type_name(BusinessEventType t) {
  switch (t) {
    case BusinessEventType::kRegistered:
      return "business_registered";
    case BusinessEventType::kEnabled:
      return "business_enabled";
    case BusinessEventType::kDisabled:
      return "business_disabled";
  }
  return "business_enabled";
}
}  // namespace

std::string encode_business_event(const BusinessEvent& event) {
  nlohmann::json j;
  j["schema_version"] = kControlSchemaVersion;
  j["type"] = type_name(event.type);
  j["bid"] = event.bid;
  j["at"] = format_utc(event.at);
  return j.dump();
}

Result<BusinessEvent> decode_business_event(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  auto bad = [](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, "control event: " + std::string(why));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto version = j.find("schema_version");
  if (version == j.end() || !version->is_number_integer() ||
      version->get<std::int64_t>() != kControlSchemaVersion) {
    return bad("unsupported schema_version");
  }
  auto type = j.find("type");
  auto bid = j.find("bid");
  if (type == j.end() || !type->is_string()) return bad("missing type");
  if (bid == j.end() || !bid->is_string() || bid->get<std::string>().empty()) {
    return bad("missing bid");
  }
  BusinessEvent e;
  const auto t = type->get<std::string>();
  if (t == "business_registered") {
    e.type = BusinessEventType::kRegistered;
  } else if (t == "business_enabled") {
    e.type = BusinessEventType::kEnabled;
  } else if (t == "business_disabled") {
    e.type = BusinessEventType::kDisabled;
  } else {
    return bad("unknown type");
  }
  e.bid = bid->get<std::string>();
  return e;
}

OutgoingMessage make_business_event_message(const TopologySettings& topology,
                                            const BusinessEvent& event) {
  OutgoingMessage m;
  m.exchange = topology.control_exchange;
  m.routing_key = event.bid;
  m.body = encode_business_event(event);
  m.mandatory = false;
  m.headers[std::string(header::kSchemaVersion)] = std::int64_t{kControlSchemaVersion};
  m.headers[std::string(header::kBid)] = event.bid;
  return m;
}

}  // namespace earshot::queue

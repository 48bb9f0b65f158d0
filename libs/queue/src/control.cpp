#include "earshot/queue/control.hpp"

#include <algorithm>

namespace earshot::queue {

OutgoingMessage make_business_event_message(const TopologySettings& topology, const BusinessEvent& event) {
  OutgoingMessage m;
  m.exchange = topology.control_exchange;
  m.routing_key = event.bid;
  m.body = event.to_json();
  m.mandatory = false;
  m.headers[std::string(header::kSchemaVersion)] = std::int64_t{BusinessEvent::kSchemaVersion};
  m.headers[std::string(header::kBid)] = event.bid;
  return m;
}

}  // namespace earshot::queue

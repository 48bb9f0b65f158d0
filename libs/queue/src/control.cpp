#include "earshot/queue/control.hpp"

#include <algorithm>

namespace earshot::queue {

OutgoingMessage make_business_event_message(const TopologySettings& topology,
                                            const BusinessEvent& event) {
  OutgoingMessage m;
  m.exchange = topology.control_exchange;
  m.routing_key = event.bid;
  m.body = event.to_json();
  m.mandatory = false;
  m.headers[std::string(header::kSchemaVersion)] = std::int64_t{BusinessEvent::kSchemaVersion};
  m.headers[std::string(header::kBid)] = event.bid;
  return m;
}

void InMemoryBusinessDirectory::enable(const std::string& bid) {
  std::lock_guard l(mu_);
  enabled_.insert(bid);
}
void InMemoryBusinessDirectory::disable(const std::string& bid) {
  std::lock_guard l(mu_);
  enabled_.erase(bid);
}
void InMemoryBusinessDirectory::set_unavailable(bool unavailable) {
  std::lock_guard l(mu_);
  unavailable_ = unavailable;
}
Result<std::vector<std::string>> InMemoryBusinessDirectory::enabled_businesses() {
  std::lock_guard l(mu_);
  if (unavailable_) return make_error(ErrorCode::kUnavailable, "directory unavailable");
  return std::vector<std::string>(enabled_.begin(), enabled_.end());
}

}  // namespace earshot::queue

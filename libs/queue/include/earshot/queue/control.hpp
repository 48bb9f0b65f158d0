#pragma once
// Business lifecycle: which businesses workers consume, and how they learn of changes.
//
// Whoever registers, enables or disables a business publishes a BusinessEvent on the
// control exchange (fanout); every running StageWorker has an exclusive auto-delete queue
// bound to it and starts or stops consuming that business within moments. Events can be
// lost (a worker that was down); each worker therefore also reconciles periodically against
// a BusinessDirectory, the source of truth (storage implements it over the businesses
// table).

#include <chrono>
#include <string>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"

namespace earshot::queue {

// The event (BusinessEvent, messages.hpp) as a message for the control exchange (not
// mandatory: no worker may be running).
[[nodiscard]] OutgoingMessage make_business_event_message(const TopologySettings& topology, const BusinessEvent& event);

class BusinessDirectory {
 public:
  virtual ~BusinessDirectory() = default;
  // Business ids whose queues should be consumed now. Called from a worker's manager
  // thread; may block on a database (with its own deadline).
  [[nodiscard]] virtual Result<std::vector<std::string>> enabled_businesses() = 0;
};

}  // namespace earshot::queue

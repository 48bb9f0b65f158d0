#pragma once
// Operator tools over dead-letter queues: the backend of `earshot dlq list | show | replay |
// purge --stage S --bid B`.
//
// replay moves messages from dlq.{stage}.{bid} back to {stage}.{bid}: the copy is published
// (confirmed) with x-attempt reset to 1, the failure headers moved to audit headers
// (x-replayed-error-code, x-replayed-error-reason, x-replayed-attempts,
// x-replayed-failed-at) plus x-replayed-at, and only then is the dead letter acked. A crash
// in between leaves the message in both queues (at-least-once), never in neither.
// Not thread-safe: one thread uses one DeadLetterAdmin.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/topology.hpp"

namespace earshot::queue {

struct DeadLetter {
  RawMessage message;
  std::string error_code;
  std::string error_reason;
  std::string failed_at;
  std::int64_t attempts = 0;
};

class DeadLetterAdmin {
 public:
  DeadLetterAdmin(AmqpSettings amqp, TopologySettings topology, Clock& clock);
  ~DeadLetterAdmin();
  DeadLetterAdmin(const DeadLetterAdmin&) = delete;
  DeadLetterAdmin& operator=(const DeadLetterAdmin&) = delete;

  // Messages waiting in dlq.{stage}.{bid}; kNotFound when the business has no such queue.
  [[nodiscard]] Result<std::uint32_t> count(Stage stage, const std::string& bid);
  // Up to `limit` messages from the head, left in the queue (read unacked, then returned).
  [[nodiscard]] Result<std::vector<DeadLetter>> show(Stage stage, const std::string& bid, std::size_t limit);
  // Moves up to `limit` messages back to the work queue; returns how many moved.
  [[nodiscard]] Result<std::size_t> replay(Stage stage, const std::string& bid, std::size_t limit);
  // Deletes every message in the dead-letter queue; returns how many.
  [[nodiscard]] Result<std::uint32_t> purge(Stage stage, const std::string& bid);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::queue

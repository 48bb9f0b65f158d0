#pragma once
// Names and shapes of the broker objects, and a synchronous admin client that declares them.
//
//   exchange earshot.work (direct, durable)
//     {stage}.{bid}               quorum queue, bound with routing key {stage}.{bid}
//   retry.{stage}.{bid}.{delay}   classic durable queue per retry tier, x-message-ttl = delay,
//                                 dead-lettering back to earshot.work with key {stage}.{bid}
//   dlq.{stage}.{bid}             quorum queue, published to through the default exchange
//   exchange earshot.control (fanout, durable): business lifecycle events
//
// Every declaration is idempotent: declaring again with the same arguments is a no-op.
// Changing a tier's delay creates a new tier queue (the delay is part of its name) rather
// than failing on mismatched arguments.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "earshot/core/config.hpp"
#include "earshot/core/error.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/message.hpp"

namespace earshot::queue {

struct TopologySettings {
  std::string work_exchange = "earshot.work";
  std::string control_exchange = "earshot.control";
  std::vector<std::chrono::milliseconds> retry_delays{std::chrono::seconds(5), std::chrono::seconds(30),
                                                      std::chrono::minutes(5)};
  // Deliveries of one message before it is dead-lettered (first attempt included).
  std::int64_t max_attempts = 5;

  // Declares queue_retry_delays ("5s,30s,5m") and queue_max_attempts; call resolve() after
  // the spec loaded to parse the delays.
  void declare(ConfigSpec& spec);
  [[nodiscard]] Status resolve();

 private:
  std::string retry_delays_text_;
};

// Parses "5s,30s,5m" (each a duration as ConfigSpec reads them; ascending, 1..10 tiers).
[[nodiscard]] Result<std::vector<std::chrono::milliseconds>> parse_retry_delays(std::string_view text);
// "5s", "30s", "5m", "1500ms": the shortest exact form, used in retry queue names.
[[nodiscard]] std::string delay_label(std::chrono::milliseconds d);

[[nodiscard]] std::string work_queue(Stage stage, std::string_view bid);
[[nodiscard]] std::string work_routing_key(Stage stage, std::string_view bid);
[[nodiscard]] std::string retry_queue(Stage stage, std::string_view bid, std::chrono::milliseconds delay);
[[nodiscard]] std::string dead_letter_queue(Stage stage, std::string_view bid);

// Which retry tier a failed delivery goes to. `attempt` is the attempt that just failed
// (1-based): attempt 1 -> tier 0, attempt 2 -> tier 1, ... capped at the last tier. A
// delay hint moves it up to the first tier at least as long as the hint (capped too).
// Requires a non-empty `delays`.
[[nodiscard]] std::size_t select_retry_tier(int attempt, const std::vector<std::chrono::milliseconds>& delays,
                                            std::optional<std::chrono::milliseconds> hint);

// A stage message addressed to earshot.work with routing key {stage}.{bid}; the envelope
// headers are filled from `env` (env.message_id generated when empty).
[[nodiscard]] OutgoingMessage make_stage_message(const TopologySettings& topology, Envelope env, std::string body);

// A message read with basic.get (tests and operator tools).
struct RawMessage {
  std::string message_id;
  std::string routing_key;
  std::string body;
  Headers headers;
};

// Declares, inspects and deletes topology over its own connection. Not thread-safe: one
// thread uses one TopologyAdmin. Reconnects lazily after any failure (a failed passive
// declare closes the channel, so the next call starts a fresh connection).
class TopologyAdmin {
 public:
  TopologyAdmin(AmqpSettings amqp, TopologySettings topology);
  ~TopologyAdmin();
  TopologyAdmin(const TopologyAdmin&) = delete;
  TopologyAdmin& operator=(const TopologyAdmin&) = delete;

  [[nodiscard]] Status declare_exchanges();
  // Exchanges, work queue + binding, every retry tier queue and the dead-letter queue.
  [[nodiscard]] Status declare_business(Stage stage, std::string_view bid);
  // Deletes the queues declare_business made (tests and decommissioning).
  [[nodiscard]] Status delete_business(Stage stage, std::string_view bid);
  [[nodiscard]] Status delete_queue(const std::string& queue);
  // Ready messages in a queue (passive declare). kNotFound when the queue does not exist.
  [[nodiscard]] Result<std::uint32_t> queue_depth(const std::string& queue);
  [[nodiscard]] Result<std::uint32_t> purge(const std::string& queue);
  // Takes one message off the queue (auto-ack): nullopt when the queue is empty.
  [[nodiscard]] Result<std::optional<RawMessage>> get(const std::string& queue);
  [[nodiscard]] const TopologySettings& topology() const { return topology_; }

 private:
  struct Impl;
  TopologySettings topology_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::queue

#pragma once
// Confirmed publishing.
//
// A Publisher owns one AMQP connection, used only by its own I/O thread (rabbitmq-c
// connections must not be shared between threads). Any thread may call publish_batch(): the
// messages join a submission queue, the I/O thread publishes them with up to `window`
// publishes awaiting confirmation (confirm.select; acks and nacks that cover several
// deliveries via `multiple` are handled), and publish_batch() returns once the broker
// confirmed every message of the batch, or with the first error:
//   - a basic.return (mandatory message that no queue took): kFailedPrecondition;
//   - a basic.nack: kUnavailable;
//   - no confirmation before `confirm_timeout`: kTimeout;
//   - publisher stopped: kUnavailable.
// When the connection drops, unconfirmed messages are published again on the next
// connection (reconnect with jittered backoff), so a batch may be delivered twice but is
// never reported confirmed without a broker ack. Messages are persistent (delivery mode 2).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/message.hpp"

namespace earshot::queue {

struct PublisherOptions {
  std::size_t window = 256;  // publishes awaiting confirmation at once
  std::chrono::milliseconds confirm_timeout{10'000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5'000};
};

class Publisher {
 public:
  // `metrics` may be null; when given, earshot_queue_published_total{result} and
  // earshot_queue_reconnects_total{connection="publisher"} are kept.
  Publisher(AmqpSettings amqp, PublisherOptions options, Metrics* metrics = nullptr);
  ~Publisher();  // stop()
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Starts the I/O thread, which connects in the background.
  void start();
  // Fails outstanding batches with kUnavailable and joins the I/O thread. Idempotent.
  void stop();

  [[nodiscard]] Status publish_batch(std::vector<OutgoingMessage> messages);
  // Same outcome, without waiting: `on_done` is called exactly once, with what
  // publish_batch() would have returned, on the publisher's I/O thread (or on the calling
  // thread when the publisher is not running, or from stop()). It must not block and must not
  // call publish_batch() itself.
  void publish_batch_async(std::vector<OutgoingMessage> messages, const std::function<void(Status)>& on_done);
  [[nodiscard]] Status publish(OutgoingMessage message);
  // True while the I/O thread holds an open, confirm-enabled connection.
  [[nodiscard]] bool connected() const;

 private:
  struct Impl;
  // Queues the messages for the I/O thread; null when not running.
  std::shared_ptr<void> submit(std::vector<OutgoingMessage>& messages, std::function<void(Status)> on_done);
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::queue

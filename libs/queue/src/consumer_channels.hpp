#pragma once
// The stage worker's consumer connection, on its own I/O thread: a control queue bound to
// the control exchange, and one channel per consumed business ({stage}.{bid}, basic.qos
// prefetch) whose deliveries go to the sink. Acks and rejects from other threads are queued
// and executed here (a connection belongs to one thread). The connection is re-established
// with backoff after a failure, and every wanted business consumed again.
//
// Channel sessions: each consumer channel instance has a session number carried by its
// deliveries. An ack for an older session is dropped (the channel closed or the connection
// failed since, and the broker requeued the delivery). A cancelled consumer's channel stays
// open until its deliveries are settled, so their acks still count; pending deliveries of a
// cancelled consumer are rejected (requeued) at once.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "amqp_connection.hpp"
#include "delivery.hpp"
#include "earshot/core/backoff.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"

namespace earshot::queue::detail {

// Where the consumer channels report, called on their I/O thread. Must not block.
class ConsumerSink {
 public:
  virtual ~ConsumerSink() = default;
  virtual void delivered(Delivery delivery) = 0;
  virtual void control_event(BusinessEvent event) = 0;
  // The broker dropped a business's consumer (channel closed, queue deleted).
  virtual void consumer_lost(const std::string& bid) = 0;
  // The deliveries of `session` not yet handed to a handler: the channels take them back.
  [[nodiscard]] virtual std::vector<Delivery> take_pending(std::uint64_t session) = 0;
  // An ack or reject posted for a dispatched delivery was executed (or dropped as stale).
  virtual void settled() = 0;
  virtual void reconnected() = 0;
};

struct ConsumerOptions {
  Stage stage = Stage::kSync;
  std::string control_exchange;
  std::uint16_t prefetch = 16;
};

class ConsumerChannels {
 public:
  ConsumerChannels(AmqpSettings amqp, ConsumerOptions options, ConsumerSink& sink);
  ~ConsumerChannels();  // stop()
  ConsumerChannels(const ConsumerChannels&) = delete;
  ConsumerChannels& operator=(const ConsumerChannels&) = delete;

  void start();
  // Closes the connection (the broker requeues every unacked delivery) and joins the thread.
  void stop();

  // From any thread: queued for the I/O thread.
  void consume(const std::string& bid);
  void cancel(const std::string& bid);
  void ack(const Delivery& delivery);
  void reject(const Delivery& delivery);
  // Cancels every consumer (the control queue's too); later consume() calls are ignored and
  // deliveries still arriving are rejected.
  void stop_intake();

  // Businesses with a live consumer now.
  [[nodiscard]] std::vector<std::string> consuming() const;

 private:
  struct Command {
    enum class Kind { kAck, kReject, kConsume, kCancel, kStopIntake };
    Kind kind = Kind::kAck;
    std::string bid;
    std::uint64_t session = 0;
    std::uint16_t channel = 0;
    std::uint64_t tag = 0;
  };
  struct Consumer {
    std::string bid;
    amqp_channel_t channel = 0;
    std::uint64_t session = 0;
    bool cancelled = false;
    std::size_t unsettled = 0;  // deliveries on this channel not yet acked or rejected
  };

  void post(Command c);
  void loop();
  Status connect();
  void connection_lost(const Error& e);
  void run_commands();
  void settle(const Command& c);
  void stop_all();
  void read_events();
  // Returns false when the connection must be dropped.
  bool on_event(BrokerEvent& ev);
  void on_delivery(BrokerEvent& ev);
  void on_consumer_gone(amqp_channel_t channel, bool channel_closed);
  void start_consumer(const std::string& bid);
  void stop_consumer(const std::string& bid);
  void retire_channels();
  amqp_channel_t alloc_channel();
  void drop_pending(std::uint64_t session);
  void reject_pending(std::uint64_t session);
  void publish_snapshot();

  AmqpSettings amqp_;
  ConsumerOptions opt_;
  ConsumerSink& sink_;
  std::string stage_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> intake_stopped_{false};
  std::thread thread_;
  Waker waker_;
  std::mutex cmd_mu_;
  std::deque<Command> commands_;

  // I/O thread only.
  std::unique_ptr<AmqpConnection> conn_;
  std::map<amqp_channel_t, Consumer> channels_;   // open business channels
  std::map<std::string, amqp_channel_t> active_;  // bid -> channel with a live consumer
  std::set<std::string> wanted_;
  std::uint64_t session_counter_ = 0;
  amqp_channel_t next_channel_ = 2;
  std::vector<amqp_channel_t> free_channels_;
  Backoff backoff_{std::chrono::milliseconds(100), std::chrono::seconds(5)};
  std::chrono::steady_clock::time_point reconnect_at_{};
  bool ever_connected_ = false;

  mutable std::mutex snapshot_mu_;
  std::vector<std::string> snapshot_;
};

}  // namespace earshot::queue::detail

#pragma once
// rabbitmq-c wrappers shared by the publisher, the worker and the admin client. Everything
// here is used by exactly one thread per connection.

#include <amqp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delivery.hpp"
#include "earshot/core/error.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/message.hpp"

namespace earshot::queue::detail {

[[nodiscard]] amqp_bytes_t bytes(std::string_view s);
[[nodiscard]] std::string to_string(amqp_bytes_t b);
[[nodiscard]] std::string reply_text(const amqp_rpc_reply_t& r);

// Owns the strings an amqp_table_t points into.
class TableBuilder {
 public:
  TableBuilder& add(std::string_view key, std::string_view value);
  TableBuilder& add(std::string_view key, std::int64_t value);
  TableBuilder& add(const Headers& headers);
  [[nodiscard]] amqp_table_t table();

 private:
  std::deque<std::string> strings_;
  std::vector<amqp_table_entry_t> entries_;
};

[[nodiscard]] Headers decode_table(const amqp_table_t& table);

// An eventfd that wakes a thread blocked in AmqpConnection::next_frame.
class Waker {
 public:
  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  void notify();
  void clear();
  // Blocks until notified or `timeout` passes.
  void wait(std::chrono::milliseconds timeout) const;
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// A method the broker sent on its own initiative (not the reply to a call), decoded.
struct BrokerEvent {
  enum class Kind {
    kOther,              // heartbeat or a method nobody here acts on
    kDeliver,            // basic.deliver: channel, tag, redelivered, content
    kAck,                // basic.ack (publisher confirm): tag, multiple
    kNack,               // basic.nack (publisher confirm): tag, multiple
    kReturn,             // basic.return: exchange, routing_key, reply_code, reply_text, content
    kConsumerCancelled,  // basic.cancel: the broker dropped the channel's consumer (queue deleted)
    kChannelClosed,      // channel.close: reply_code, reply_text (close-ok already sent)
  };
  Kind kind = Kind::kOther;
  amqp_channel_t channel = 0;
  std::uint64_t tag = 0;
  bool redelivered = false;
  bool multiple = false;
  int reply_code = 0;
  std::string reply_text;
  std::string exchange;
  std::string routing_key;
  Content content;
};

// A write in progress on one connection, visible to the process-wide write watchdog.
// rabbitmq-c waits for writability without a deadline when the broker stops reading, so
// the watchdog shuts the socket down (from its own thread) once a write has been stuck
// longer than `limit`; the blocked call then fails and the owner reconnects.
struct WriteWatch {
  std::mutex mu;
  int fd = -1;
  bool open = true;
  std::atomic<std::int64_t> since_ns{0};  // 0: not writing
  std::chrono::milliseconds limit{30'000};
};

class AmqpConnection {
 public:
  // Connects (connect_timeout), logs in with the settings' heartbeat and sets the RPC
  // timeout. kUnavailable on failure.
  [[nodiscard]] static Result<std::unique_ptr<AmqpConnection>> open(
      const AmqpSettings& s, std::chrono::milliseconds rpc_timeout = std::chrono::seconds(5));
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  [[nodiscard]] amqp_connection_state_t state() const { return conn_; }

  // Status of the last synchronous call. On a channel exception it answers channel.close-ok
  // (the channel is then closed); a connection exception or library error marks the
  // connection broken. 404 -> kNotFound, 406 -> kFailedPrecondition, else kUnavailable.
  [[nodiscard]] Status rpc_status(amqp_channel_t channel, std::string_view what);
  [[nodiscard]] Status open_channel(amqp_channel_t channel);
  void close_channel(amqp_channel_t channel);
  // Answers a server-sent channel.close.
  void channel_close_ok(amqp_channel_t channel);

  // Waits up to `timeout` for one frame, waking early when `waker` fires. Returns true with
  // `frame` set, false when nothing arrived (timeout or wake-up), or an error when the
  // connection failed (socket closed, missed heartbeats). Also sends heartbeats when due.
  [[nodiscard]] Result<bool> next_frame(amqp_frame_t& frame, const Waker* waker, std::chrono::milliseconds timeout);
  // Reads the header and body frames following a deliver / return / get-ok.
  [[nodiscard]] Result<Content> read_content(amqp_channel_t channel);
  // next_frame, decoded: the content following a deliver or return is read with it, a
  // channel.close is answered (close-ok) and reported, a connection.close is answered and
  // returned as an error (the connection is then broken), as is a content that cannot be read.
  // Nothing when no frame arrived within `timeout`.
  [[nodiscard]] Result<std::optional<BrokerEvent>> next_event(const Waker* waker, std::chrono::milliseconds timeout);

  // Synchronous methods; each returns rpc_status() of its reply.
  [[nodiscard]] Status qos(amqp_channel_t channel, std::uint16_t prefetch);
  [[nodiscard]] Status confirm_select(amqp_channel_t channel);
  // basic.consume with acks; `exclusive` consumers with no_ack for control queues.
  [[nodiscard]] Status consume(amqp_channel_t channel, std::string_view queue, std::string_view consumer_tag,
                               bool no_ack = false, bool exclusive = false);
  [[nodiscard]] Status cancel(amqp_channel_t channel, std::string_view consumer_tag);
  [[nodiscard]] Status declare_exchange(amqp_channel_t channel, std::string_view name, std::string_view type);
  // Passive declare: kNotFound when the exchange does not exist.
  [[nodiscard]] Status check_exchange(amqp_channel_t channel, std::string_view name);
  // A durable queue with `arguments` (x-dead-letter-*, x-message-ttl, ...).
  [[nodiscard]] Status declare_queue(amqp_channel_t channel, std::string_view name, TableBuilder& arguments);
  // An exclusive, auto-deleted queue named by the broker; returns its name.
  [[nodiscard]] Result<std::string> declare_private_queue(amqp_channel_t channel);
  // Passive declare: the queue's ready messages (kNotFound when it does not exist).
  [[nodiscard]] Result<std::uint32_t> queue_message_count(amqp_channel_t channel, std::string_view name);
  [[nodiscard]] Status bind_queue(amqp_channel_t channel, std::string_view queue, std::string_view exchange,
                                  std::string_view routing_key);
  [[nodiscard]] Status delete_queue(amqp_channel_t channel, std::string_view name);
  // Ready messages removed.
  [[nodiscard]] Result<std::uint32_t> purge_queue(amqp_channel_t channel, std::string_view name);
  // basic.get: a message with its delivery tag, or nothing when the queue is empty.
  struct Got {
    std::uint64_t tag = 0;
    std::string routing_key;
    Content content;
  };
  [[nodiscard]] Result<std::optional<Got>> get(amqp_channel_t channel, std::string_view queue, bool no_ack);

  // basic.publish of a persistent message (message id must be set).
  [[nodiscard]] Status publish(amqp_channel_t channel, const OutgoingMessage& m);
  // basic.ack / basic.nack(requeue) of one delivery; failures mark the connection broken.
  void ack(amqp_channel_t channel, std::uint64_t tag);
  void reject(amqp_channel_t channel, std::uint64_t tag);

  [[nodiscard]] bool broken() const { return broken_; }
  void mark_broken() { broken_ = true; }
  void release_buffers() { amqp_maybe_release_buffers(conn_); }

 private:
  AmqpConnection() = default;
  amqp_connection_state_t conn_ = nullptr;
  std::shared_ptr<WriteWatch> watch_;
  std::chrono::milliseconds heartbeat_{0};
  std::chrono::steady_clock::time_point last_recv_{};
  bool broken_ = false;
};

}  // namespace earshot::queue::detail

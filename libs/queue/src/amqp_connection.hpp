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
#include <string>
#include <string_view>
#include <vector>

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

// A message body with its properties, read after basic.deliver / basic.return / get-ok.
struct Content {
  std::string message_id;
  std::string body;
  Headers headers;
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
  [[nodiscard]] static Result<std::unique_ptr<AmqpConnection>> open(const AmqpSettings& s);
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

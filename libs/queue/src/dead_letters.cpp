#include "earshot/queue/dead_letters.hpp"

#include <fmt/format.h>

#include "amqp_connection.hpp"
#include "earshot/queue/publisher.hpp"

namespace earshot::queue {

namespace {
constexpr amqp_channel_t kChannel = 1;

DeadLetter to_dead_letter(RawMessage m) {
  DeadLetter d;
  d.error_code = header_string(m.headers, header::kErrorCode).value_or("");
  d.error_reason = header_string(m.headers, header::kErrorReason).value_or("");
  d.failed_at = header_string(m.headers, header::kFailedAt).value_or("");
  d.attempts = header_int(m.headers, header::kAttempts).value_or(0);
  d.message = std::move(m);
  return d;
}
}  // namespace

struct DeadLetterAdmin::Impl {
  AmqpSettings amqp;
  TopologySettings topo;
  Clock& clock;
  TopologyAdmin admin;
  std::unique_ptr<Publisher> publisher;

  Impl(AmqpSettings a, TopologySettings t, Clock& c)
      : amqp(std::move(a)), topo(std::move(t)), clock(c), admin(amqp, topo) {}

  // A fresh connection per operation: closing it returns whatever was read but not acked.
  Result<std::unique_ptr<detail::AmqpConnection>> open() {
    auto c = detail::AmqpConnection::open(amqp);
    if (!c) return std::unexpected(c.error());
    if (auto st = (*c)->open_channel(kChannel); !st) return std::unexpected(st.error());
    return std::move(*c);
  }

  // basic.get without auto-ack; nullopt when empty.
  Result<std::optional<std::pair<std::uint64_t, RawMessage>>> get(detail::AmqpConnection& c, const std::string& queue) {
    auto got = c.get(kChannel, queue, /*no_ack=*/false);
    if (!got) return std::unexpected(got.error());
    auto& delivered = *got;
    if (!delivered) return std::optional<std::pair<std::uint64_t, RawMessage>>{};
    RawMessage m;
    m.routing_key = std::move(delivered->routing_key);
    m.message_id = std::move(delivered->content.message_id);
    m.body = std::move(delivered->content.body);
    m.headers = std::move(delivered->content.headers);
    return std::optional<std::pair<std::uint64_t, RawMessage>>(std::make_pair(delivered->tag, std::move(m)));
  }
};

DeadLetterAdmin::DeadLetterAdmin(AmqpSettings amqp, TopologySettings topology, Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(amqp), std::move(topology), clock)) {}
DeadLetterAdmin::~DeadLetterAdmin() {
  if (impl_->publisher) impl_->publisher->stop();
}

Result<std::uint32_t> DeadLetterAdmin::count(Stage stage, const std::string& bid) {
  return impl_->admin.queue_depth(dead_letter_queue(stage, bid));
}

Result<std::uint32_t> DeadLetterAdmin::purge(Stage stage, const std::string& bid) {
  return impl_->admin.purge(dead_letter_queue(stage, bid));
}

Result<std::vector<DeadLetter>> DeadLetterAdmin::show(Stage stage, const std::string& bid, std::size_t limit) {
  auto c = impl_->open();
  if (!c) return std::unexpected(c.error());
  std::vector<DeadLetter> out;
  while (out.size() < limit) {
    auto m = impl_->get(**c, dead_letter_queue(stage, bid));
    if (!m) return std::unexpected(m.error());
    auto& message = *m;
    if (!message) break;
    out.push_back(to_dead_letter(std::move(message->second)));
  }
  // Unacked messages go back to the queue when the channel closes (with the connection).
  return out;
}

Result<std::size_t> DeadLetterAdmin::replay(Stage stage, const std::string& bid, std::size_t limit) {
  if (!impl_->publisher) {
    impl_->publisher = std::make_unique<Publisher>(impl_->amqp, PublisherOptions{});
    impl_->publisher->start();
  }
  auto c = impl_->open();
  if (!c) return std::unexpected(c.error());
  std::size_t moved = 0;
  while (moved < limit) {
    auto got = impl_->get(**c, dead_letter_queue(stage, bid));
    if (!got) return std::unexpected(got.error());
    auto& message = *got;
    if (!message) break;
    auto& [tag, m] = *message;
    OutgoingMessage out;
    out.exchange = impl_->topo.work_exchange;
    out.routing_key = work_routing_key(stage, bid);
    out.message_id = m.message_id;
    out.body = m.body;
    out.headers = m.headers;
    auto move_header = [&](std::string_view from, const std::string& to) {
      auto it = out.headers.find(from);
      if (it == out.headers.end()) return;
      out.headers[to] = it->second;
      out.headers.erase(it);
    };
    move_header(header::kErrorCode, "x-replayed-error-code");
    move_header(header::kErrorReason, "x-replayed-error-reason");
    move_header(header::kAttempts, "x-replayed-attempts");
    move_header(header::kFailedAt, "x-replayed-failed-at");
    out.headers.erase("x-retry-reason");
    out.headers["x-replayed-at"] = format_utc(impl_->clock.now());
    out.headers[std::string(header::kAttempt)] = std::int64_t{1};
    if (auto st = impl_->publisher->publish(std::move(out)); !st) {
      return std::unexpected(st.error().with_context(fmt::format("replay stopped after {} message(s)", moved)));
    }
    (*c)->ack(kChannel, tag);
    if ((*c)->broken()) {
      return make_error(ErrorCode::kUnavailable, fmt::format("replay: ack failed after {} message(s)", moved));
    }
    ++moved;
  }
  return moved;
}

}  // namespace earshot::queue

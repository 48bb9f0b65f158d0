#include "earshot/queue/topology.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "amqp_connection.hpp"

namespace earshot::queue {

void TopologySettings::declare(ConfigSpec& spec) {
  spec.add_string("queue_retry_delays", &retry_delays_text_, "5s,30s,5m",
                  "Retry tier delays, ascending, comma-separated durations.");
  spec.add_int("queue_max_attempts", &max_attempts, 5, 1, 100, "Deliveries of a message before it is dead-lettered.");
}

Status TopologySettings::resolve() {
  if (retry_delays_text_.empty()) return {};
  auto d = parse_retry_delays(retry_delays_text_);
  if (!d) return std::unexpected(d.error().with_context("queue_retry_delays"));
  retry_delays = std::move(*d);
  return {};
}

Result<std::vector<std::chrono::milliseconds>> parse_retry_delays(std::string_view text) {
  std::vector<std::chrono::milliseconds> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    std::string_view part = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto d = parse_duration(part);
    if (!d) return std::unexpected(d.error());
    if (d->count() <= 0) return make_error(ErrorCode::kInvalidArgument, "delays must be > 0");
    if (!out.empty() && *d <= out.back()) {
      return make_error(ErrorCode::kInvalidArgument, "delays must be ascending");
    }
    out.push_back(*d);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (out.empty() || out.size() > 10) {
    return make_error(ErrorCode::kInvalidArgument, "between 1 and 10 retry delays");
  }
  return out;
}

std::string delay_label(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::string work_queue(Stage stage, std::string_view bid) {
  return fmt::format("{}.{}", stage_name(stage), bid);
}
std::string work_routing_key(Stage stage, std::string_view bid) {
  return work_queue(stage, bid);
}
std::string retry_queue(Stage stage, std::string_view bid, std::chrono::milliseconds delay) {
  return fmt::format("retry.{}.{}.{}", stage_name(stage), bid, delay_label(delay));
}
std::string dead_letter_queue(Stage stage, std::string_view bid) {
  return fmt::format("dlq.{}.{}", stage_name(stage), bid);
}

std::size_t select_retry_tier(int attempt, const std::vector<std::chrono::milliseconds>& delays,
                              std::optional<std::chrono::milliseconds> hint) {
  if (delays.empty()) return 0;
  const std::size_t last = delays.size() - 1;
  std::size_t tier = attempt <= 1 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(attempt - 1), last);
  if (hint) {
    std::size_t h = last;
    for (std::size_t i = 0; i < delays.size(); ++i) {
      if (delays[i] >= *hint) {
        h = i;
        break;
      }
    }
    tier = std::max(tier, h);
  }
  return tier;
}

OutgoingMessage make_stage_message(const TopologySettings& topology, Envelope env, std::string body) {
  if (env.message_id.empty()) env.message_id = new_message_id();
  OutgoingMessage m;
  m.exchange = topology.work_exchange;
  m.routing_key = work_routing_key(env.stage, env.bid);
  m.message_id = env.message_id;
  m.body = std::move(body);
  m.headers = encode_envelope(env);
  return m;
}

struct TopologyAdmin::Impl {
  AmqpSettings amqp;
  std::unique_ptr<detail::AmqpConnection> conn;
  static constexpr amqp_channel_t kChannel = 1;

  std::chrono::steady_clock::time_point last_used{};

  Result<detail::AmqpConnection*> get() {
    // Nothing services heartbeats between calls, so after one interval idle the broker
    // may already have closed the socket and the next call would fail: start afresh.
    const auto now = std::chrono::steady_clock::now();
    if (conn && amqp.heartbeat.count() > 0 && now - last_used >= amqp.heartbeat) conn.reset();
    last_used = now;
    if (conn && !conn->broken()) return conn.get();
    conn.reset();
    auto c = detail::AmqpConnection::open(amqp);
    if (!c) return std::unexpected(c.error());
    if (auto s = (*c)->open_channel(kChannel); !s) return std::unexpected(s.error());
    conn = std::move(*c);
    return conn.get();
  }
  // After a channel-level failure the channel is closed: start over next time.
  template <class T>
  T reset_on_error(T r) {
    if (!r) conn.reset();
    return r;
  }
};

TopologyAdmin::TopologyAdmin(AmqpSettings amqp, TopologySettings topology)
    : topology_(std::move(topology)), impl_(std::make_unique<Impl>()) {
  impl_->amqp = std::move(amqp);
}
TopologyAdmin::~TopologyAdmin() = default;

Status TopologyAdmin::declare_exchanges() {
  auto c = impl_->get();
  if (!c) return std::unexpected(c.error());
  if (auto st = (*c)->declare_exchange(Impl::kChannel, topology_.work_exchange, "direct"); !st) {
    return impl_->reset_on_error(st);
  }
  return impl_->reset_on_error((*c)->declare_exchange(Impl::kChannel, topology_.control_exchange, "fanout"));
}

Status TopologyAdmin::declare_business(Stage stage, std::string_view bid) {
  if (auto st = declare_exchanges(); !st) return st;
  auto c = impl_->get();
  if (!c) return std::unexpected(c.error());
  auto& conn = **c;
  const std::string work = work_queue(stage, bid);
  const std::string rk = work_routing_key(stage, bid);
  {
    detail::TableBuilder args;
    args.add("x-queue-type", std::string_view("quorum"));
    if (auto st = conn.declare_queue(Impl::kChannel, work, args); !st) return impl_->reset_on_error(st);
  }
  if (auto st = conn.bind_queue(Impl::kChannel, work, topology_.work_exchange, rk); !st) {
    return impl_->reset_on_error(st);
  }
  for (auto delay : topology_.retry_delays) {
    const std::string q = retry_queue(stage, bid, delay);
    detail::TableBuilder args;
    args.add("x-message-ttl", static_cast<std::int64_t>(delay.count()));
    args.add("x-dead-letter-exchange", std::string_view(topology_.work_exchange));
    args.add("x-dead-letter-routing-key", std::string_view(rk));
    if (auto st = conn.declare_queue(Impl::kChannel, q, args); !st) return impl_->reset_on_error(st);
  }
  detail::TableBuilder args;
  args.add("x-queue-type", std::string_view("quorum"));
  return impl_->reset_on_error(conn.declare_queue(Impl::kChannel, dead_letter_queue(stage, bid), args));
}

Status TopologyAdmin::delete_queue(const std::string& queue) {
  auto c = impl_->get();
  if (!c) return std::unexpected(c.error());
  return impl_->reset_on_error((*c)->delete_queue(Impl::kChannel, queue));
}

Status TopologyAdmin::delete_business(Stage stage, std::string_view bid) {
  std::vector<std::string> queues{work_queue(stage, bid), dead_letter_queue(stage, bid)};
  for (auto d : topology_.retry_delays) queues.push_back(retry_queue(stage, bid, d));
  Status result;
  for (const auto& q : queues) {
    if (auto st = delete_queue(q); !st && result) result = st;
  }
  return result;
}

Result<std::uint32_t> TopologyAdmin::queue_depth(const std::string& queue) {
  auto c = impl_->get();
  if (!c) return std::unexpected(c.error());
  return impl_->reset_on_error((*c)->queue_message_count(Impl::kChannel, queue));
}

Result<std::uint32_t> TopologyAdmin::purge(const std::string& queue) {
  auto c = impl_->get();
  if (!c) return std::unexpected(c.error());
  return impl_->reset_on_error((*c)->purge_queue(Impl::kChannel, queue));
}

Result<std::optional<RawMessage>> TopologyAdmin::get(const std::string& queue) {
  auto c = impl_->get();
  if (!c) return std::unexpected(c.error());
  auto got = impl_->reset_on_error((*c)->get(Impl::kChannel, queue, /*no_ack=*/true));
  if (!got) return std::unexpected(got.error());
  auto& delivered = *got;
  if (!delivered) return std::optional<RawMessage>{};
  RawMessage m;
  m.routing_key = std::move(delivered->routing_key);
  m.message_id = std::move(delivered->content.message_id);
  m.body = std::move(delivered->content.body);
  m.headers = std::move(delivered->content.headers);
  return std::optional<RawMessage>(std::move(m));
}

}  // namespace earshot::queue

#include "consumer_channels.hpp"

#include "earshot/core/log.hpp"

namespace earshot::queue::detail {

namespace {
constexpr amqp_channel_t kControlChannel = 1;
constexpr std::string_view kControlTag = "control";
}  // namespace

ConsumerChannels::ConsumerChannels(AmqpSettings amqp, ConsumerOptions options, ConsumerSink& sink)
    : amqp_(std::move(amqp)), opt_(std::move(options)), sink_(sink), stage_(stage_name(opt_.stage)) {}

ConsumerChannels::~ConsumerChannels() {
  stop();
}

void ConsumerChannels::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void ConsumerChannels::stop() {
  stopping_ = true;
  waker_.notify();
  if (thread_.joinable()) thread_.join();
}

void ConsumerChannels::consume(const std::string& bid) {
  post(Command{.kind = Command::Kind::kConsume, .bid = bid});
}

void ConsumerChannels::cancel(const std::string& bid) {
  post(Command{.kind = Command::Kind::kCancel, .bid = bid});
}

void ConsumerChannels::ack(const Delivery& d) {
  post(Command{.kind = Command::Kind::kAck, .bid = d.bid, .session = d.session, .channel = d.channel, .tag = d.tag});
}

void ConsumerChannels::reject(const Delivery& d) {
  post(Command{.kind = Command::Kind::kReject, .bid = d.bid, .session = d.session, .channel = d.channel, .tag = d.tag});
}

void ConsumerChannels::stop_intake() {
  if (intake_stopped_.exchange(true)) return;
  post(Command{.kind = Command::Kind::kStopIntake, .bid = {}});
}

std::vector<std::string> ConsumerChannels::consuming() const {
  std::lock_guard l(snapshot_mu_);
  return snapshot_;
}

void ConsumerChannels::post(Command c) {
  {
    std::lock_guard l(cmd_mu_);
    commands_.push_back(std::move(c));
  }
  waker_.notify();
}

void ConsumerChannels::publish_snapshot() {
  std::vector<std::string> v;
  v.reserve(active_.size());
  for (const auto& [bid, ch] : active_) v.push_back(bid);
  std::lock_guard l(snapshot_mu_);
  snapshot_ = std::move(v);
}

amqp_channel_t ConsumerChannels::alloc_channel() {
  if (!free_channels_.empty()) {
    auto c = free_channels_.back();
    free_channels_.pop_back();
    return c;
  }
  return next_channel_++;
}

// The channel is gone: the broker requeues its deliveries, the pending ones are dropped.
void ConsumerChannels::drop_pending(std::uint64_t session) {
  (void)sink_.take_pending(session);
}

// The channel stays open: pending deliveries are handed back (requeued) now.
void ConsumerChannels::reject_pending(std::uint64_t session) {
  for (auto& d : sink_.take_pending(session)) {
    conn_->reject(d.channel, d.tag);
    auto it = channels_.find(d.channel);
    if (it != channels_.end() && it->second.unsettled > 0) --it->second.unsettled;
  }
}

void ConsumerChannels::start_consumer(const std::string& bid) {
  if (active_.contains(bid) || !conn_) return;
  const amqp_channel_t ch = alloc_channel();
  auto st = conn_->open_channel(ch);
  if (st) st = conn_->qos(ch, opt_.prefetch);
  if (st) st = conn_->consume(ch, work_queue(opt_.stage, bid), bid);
  if (!st) {
    log::warn("queue worker cannot consume", {{"bid", bid}, {"stage", stage_}, {"error", st.error().to_string()}});
    // A failed RPC either broke the connection or closed the channel (close-ok sent).
    if (!conn_->broken()) free_channels_.push_back(ch);
    sink_.consumer_lost(bid);
    return;
  }
  channels_[ch] = Consumer{.bid = bid, .channel = ch, .session = ++session_counter_};
  active_[bid] = ch;
  log::info("queue worker consuming", {{"bid", bid}, {"stage", stage_}});
  publish_snapshot();
}

void ConsumerChannels::stop_consumer(const std::string& bid) {
  auto it = active_.find(bid);
  if (it == active_.end() || !conn_) return;
  const amqp_channel_t ch = it->second;
  active_.erase(it);
  publish_snapshot();
  if (auto st = conn_->cancel(ch, bid); !st) {
    log::warn("queue worker cancel failed", {{"bid", bid}, {"error", st.error().to_string()}});
    if (!conn_->broken()) {
      // The channel was closed by the broker: its deliveries are requeued already.
      auto c = channels_.find(ch);
      if (c != channels_.end()) {
        drop_pending(c->second.session);
        channels_.erase(c);
      }
      free_channels_.push_back(ch);
    }
    return;
  }
  auto c = channels_.find(ch);
  if (c != channels_.end()) {
    c->second.cancelled = true;
    reject_pending(c->second.session);
  }
  log::info("queue worker stopped consuming", {{"bid", bid}, {"stage", stage_}});
}

// Closes cancelled channels once every delivery on them is settled.
void ConsumerChannels::retire_channels() {
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (it->second.cancelled && it->second.unsettled == 0 && conn_ && !conn_->broken()) {
      conn_->close_channel(it->first);
      free_channels_.push_back(it->first);
      it = channels_.erase(it);
    } else {
      ++it;
    }
  }
}

Status ConsumerChannels::connect() {
  auto c = AmqpConnection::open(amqp_);
  if (!c) return std::unexpected(c.error());
  auto& cn = **c;
  if (auto st = cn.open_channel(kControlChannel); !st) return st;
  if (auto st = cn.declare_exchange(kControlChannel, opt_.control_exchange, "fanout"); !st) return st;
  auto queue = cn.declare_private_queue(kControlChannel);
  if (!queue) return std::unexpected(queue.error());
  if (auto st = cn.bind_queue(kControlChannel, *queue, opt_.control_exchange, ""); !st) return st;
  if (auto st = cn.consume(kControlChannel, *queue, kControlTag, /*no_ack=*/true, /*exclusive=*/true); !st) return st;
  conn_ = std::move(*c);
  channels_.clear();
  active_.clear();
  free_channels_.clear();
  next_channel_ = 2;
  backoff_.reset();
  if (ever_connected_) {
    sink_.reconnected();
    log::info("queue worker reconnected", {{"stage", stage_}});
  }
  ever_connected_ = true;
  for (const auto& bid : wanted_) start_consumer(bid);
  publish_snapshot();
  return {};
}

void ConsumerChannels::connection_lost(const Error& e) {
  log::warn("queue worker lost its connection", {{"stage", stage_}, {"error", e.to_string()}});
  for (const auto& [ch, c] : channels_) drop_pending(c.session);
  channels_.clear();
  active_.clear();
  publish_snapshot();
  conn_.reset();
  reconnect_at_ = std::chrono::steady_clock::now() + backoff_.next();
}

void ConsumerChannels::settle(const Command& c) {
  auto it = channels_.find(c.channel);
  const bool live = conn_ && !conn_->broken() && it != channels_.end() && it->second.session == c.session;
  if (live) {
    if (c.kind == Command::Kind::kAck) {
      conn_->ack(c.channel, c.tag);
    } else {
      conn_->reject(c.channel, c.tag);
    }
    if (it->second.unsettled > 0) --it->second.unsettled;
  }
  sink_.settled();
}

void ConsumerChannels::stop_all() {
  wanted_.clear();
  std::vector<std::string> bids;
  bids.reserve(active_.size());
  for (const auto& [bid, ch] : active_) bids.push_back(bid);
  for (const auto& bid : bids) stop_consumer(bid);
  if (conn_ && !conn_->broken()) (void)conn_->cancel(kControlChannel, kControlTag);
}

void ConsumerChannels::run_commands() {
  std::deque<Command> cmds;
  {
    std::lock_guard l(cmd_mu_);
    cmds.swap(commands_);
  }
  for (auto& c : cmds) {
    switch (c.kind) {
      case Command::Kind::kAck:
      case Command::Kind::kReject:
        settle(c);
        break;
      case Command::Kind::kConsume:
        if (intake_stopped_) break;
        wanted_.insert(c.bid);
        start_consumer(c.bid);
        break;
      case Command::Kind::kCancel:
        wanted_.erase(c.bid);
        stop_consumer(c.bid);
        break;
      case Command::Kind::kStopIntake:
        stop_all();
        break;
    }
  }
}

void ConsumerChannels::on_delivery(BrokerEvent& ev) {
  if (ev.channel == kControlChannel) {
    auto parsed = BusinessEvent::parse(ev.content.body);
    if (!parsed) {
      log::warn("queue worker ignored an invalid control event", {{"error", parsed.error().to_string()}});
      return;
    }
    sink_.control_event(std::move(*parsed));
    return;
  }
  auto it = channels_.find(ev.channel);
  if (it == channels_.end()) return;
  Consumer& consumer = it->second;
  if (consumer.cancelled || intake_stopped_) {
    conn_->reject(ev.channel, ev.tag);  // cancelled meanwhile: give it back at once
    return;
  }
  ++consumer.unsettled;
  sink_.delivered(Delivery{.session = consumer.session,
                           .channel = ev.channel,
                           .tag = ev.tag,
                           .bid = consumer.bid,
                           .redelivered = ev.redelivered,
                           .content = std::move(ev.content)});
}

// The broker cancelled a business's consumer (kConsumerCancelled: the channel stays open) or
// closed its channel.
void ConsumerChannels::on_consumer_gone(amqp_channel_t channel, bool channel_closed) {
  if (channel_closed) {
    auto c = channels_.find(channel);
    if (c != channels_.end()) {
      drop_pending(c->second.session);
      channels_.erase(c);
    }
    free_channels_.push_back(channel);
  }
  for (auto& [bid, ch] : active_) {
    if (ch != channel) continue;
    const std::string gone = bid;
    active_.erase(gone);
    if (!channel_closed) {
      channels_[channel].cancelled = true;
      reject_pending(channels_[channel].session);
    }
    publish_snapshot();
    sink_.consumer_lost(gone);
    return;
  }
}

bool ConsumerChannels::on_event(BrokerEvent& ev) {
  switch (ev.kind) {
    case BrokerEvent::Kind::kDeliver:
      on_delivery(ev);
      return !conn_->broken();
    case BrokerEvent::Kind::kConsumerCancelled:  // the queue was deleted
      on_consumer_gone(ev.channel, false);
      return true;
    case BrokerEvent::Kind::kChannelClosed:
      log::warn("queue worker channel closed by broker",
                {{"code", std::to_string(ev.reply_code)}, {"reason", ev.reply_text}});
      if (ev.channel == kControlChannel) return false;
      on_consumer_gone(ev.channel, true);
      return true;
    default:
      return true;
  }
}

// Reads what arrived (waiting up to 100 ms for the first event), and returns early when
// commands wait: a flood of deliveries must not delay acks.
void ConsumerChannels::read_events() {
  auto timeout = std::chrono::milliseconds(100);
  while (conn_) {
    auto got = conn_->next_event(&waker_, timeout);
    if (!got) {
      connection_lost(got.error());
      return;
    }
    auto& event = *got;
    if (!event) return;
    if (!on_event(*event)) {
      connection_lost(Error(ErrorCode::kUnavailable, "channel or connection closed"));
      return;
    }
    timeout = std::chrono::milliseconds(0);
    std::lock_guard l(cmd_mu_);
    if (!commands_.empty()) return;
  }
}

void ConsumerChannels::loop() {
  while (!stopping_) {
    waker_.clear();
    if (!conn_) {
      run_commands();  // settles stale acks (dropped) and records wanted businesses
      if (std::chrono::steady_clock::now() >= reconnect_at_) {
        if (auto st = connect(); !st) {
          log::warn("queue worker cannot connect", {{"stage", stage_}, {"error", st.error().to_string()}});
          conn_.reset();
          reconnect_at_ = std::chrono::steady_clock::now() + backoff_.next();
        }
      }
      if (!conn_) {
        waker_.wait(std::chrono::milliseconds(50));
        continue;
      }
    }
    run_commands();
    retire_channels();
    if (conn_->broken()) {
      connection_lost(Error(ErrorCode::kUnavailable, "connection broken"));
      continue;
    }
    read_events();
    if (conn_) conn_->release_buffers();
  }
  // Closing the connection makes the broker requeue every unacked delivery.
  conn_.reset();
  run_commands();
}

}  // namespace earshot::queue::detail

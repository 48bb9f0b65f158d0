#include "amqp_connection.hpp"

#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <thread>

namespace earshot::queue::detail {

amqp_bytes_t bytes(std::string_view s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());  // rabbitmq-c takes non-const but only reads
  return b;
}

std::string to_string(amqp_bytes_t b) {
  if (b.bytes == nullptr || b.len == 0) return {};
  return {static_cast<const char*>(b.bytes), b.len};
}

std::string reply_text(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return fmt::format("connection closed by broker: {} {}", m->reply_code, to_string(m->reply_text));
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return fmt::format("channel closed by broker: {} {}", m->reply_code, to_string(m->reply_text));
      }
      return "broker exception";
  }
  return "unknown reply";
}

TableBuilder& TableBuilder::add(std::string_view key, std::string_view value) {
  const std::string& k = strings_.emplace_back(key);
  const std::string& v = strings_.emplace_back(value);
  amqp_table_entry_t e{};
  e.key = bytes(k);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = bytes(v);
  entries_.push_back(e);
  return *this;
}

TableBuilder& TableBuilder::add(std::string_view key, std::int64_t value) {
  const std::string& k = strings_.emplace_back(key);
  amqp_table_entry_t e{};
  e.key = bytes(k);
  e.value.kind = AMQP_FIELD_KIND_I64;
  e.value.value.i64 = value;
  entries_.push_back(e);
  return *this;
}

TableBuilder& TableBuilder::add(const Headers& headers) {
  for (const auto& [k, v] : headers) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      add(k, std::string_view(*s));
    } else {
      add(k, std::get<std::int64_t>(v));
    }
  }
  return *this;
}

amqp_table_t TableBuilder::table() {
  amqp_table_t t;
  t.num_entries = static_cast<int>(entries_.size());
  t.entries = entries_.empty() ? nullptr : entries_.data();
  return t;
}

Headers decode_table(const amqp_table_t& table) {
  Headers out;
  for (int i = 0; i < table.num_entries; ++i) {
    const amqp_table_entry_t& e = table.entries[i];
    std::string key = to_string(e.key);
    const amqp_field_value_t& v = e.value;
    switch (v.kind) {
      case AMQP_FIELD_KIND_UTF8:
      case AMQP_FIELD_KIND_BYTES:
        out[key] = to_string(v.value.bytes);
        break;
      case AMQP_FIELD_KIND_BOOLEAN:
        out[key] = std::int64_t{v.value.boolean != 0 ? 1 : 0};
        break;
      case AMQP_FIELD_KIND_I8:
        out[key] = std::int64_t{v.value.i8};
        break;
      case AMQP_FIELD_KIND_U8:
        out[key] = std::int64_t{v.value.u8};
        break;
      case AMQP_FIELD_KIND_I16:
        out[key] = std::int64_t{v.value.i16};
        break;
      case AMQP_FIELD_KIND_U16:
        out[key] = std::int64_t{v.value.u16};
        break;
      case AMQP_FIELD_KIND_I32:
        out[key] = std::int64_t{v.value.i32};
        break;
      case AMQP_FIELD_KIND_U32:
        out[key] = std::int64_t{v.value.u32};
        break;
      case AMQP_FIELD_KIND_I64:
        out[key] = std::int64_t{v.value.i64};
        break;
      case AMQP_FIELD_KIND_U64:
      case AMQP_FIELD_KIND_TIMESTAMP:
        out[key] = static_cast<std::int64_t>(v.value.u64);
        break;
      default:
        break;  // arrays, tables, floats: not part of the envelope
    }
  }
  return out;
}

Waker::Waker() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
Waker::~Waker() {
  if (fd_ >= 0) ::close(fd_);
}
void Waker::notify() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd_, &one, sizeof(one));
}
void Waker::wait(std::chrono::milliseconds timeout) const {
  pollfd p{};
  p.fd = fd_;
  p.events = POLLIN;
  ::poll(&p, 1, static_cast<int>(timeout.count()));
}
void Waker::clear() {
  std::uint64_t v = 0;
  [[maybe_unused]] auto n = ::read(fd_, &v, sizeof(v));
}

namespace {
timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}
}  // namespace

namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One thread per process checks every registered connection's write four times a second.
class WriteWatchdog {
 public:
  void add(std::weak_ptr<WriteWatch> w) {
    std::lock_guard l(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    watches_.push_back(std::move(w));
  }
  ~WriteWatchdog() {
    {
      std::lock_guard l(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock l(mu_);
    while (!stopping_) {
      cv_.wait_for(l, std::chrono::milliseconds(250));
      const std::int64_t now = steady_ns();
      std::erase_if(watches_, [&](std::weak_ptr<WriteWatch>& weak) {
        auto w = weak.lock();
        if (!w) return true;
        const std::int64_t since = w->since_ns.load();
        const auto limit_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(w->limit).count();
        if (since != 0 && now - since > limit_ns) {
          std::lock_guard wl(w->mu);
          if (w->open) ::shutdown(w->fd, SHUT_RDWR);
        }
        return false;
      });
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::weak_ptr<WriteWatch>> watches_;
  bool stopping_ = false;
  std::thread thread_;
};

void watch_writes(const std::shared_ptr<WriteWatch>& w) {
  static WriteWatchdog dog;
  dog.add(w);
}

class WriteScope {
 public:
  explicit WriteScope(WriteWatch* w) : w_(w) {
    if (w_ != nullptr) w_->since_ns = steady_ns();
  }
  ~WriteScope() {
    if (w_ != nullptr) w_->since_ns = 0;
  }
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;

 private:
  WriteWatch* w_;
};

}  // namespace

Result<std::unique_ptr<AmqpConnection>> AmqpConnection::open(const AmqpSettings& s,
                                                             std::chrono::milliseconds rpc_timeout) {
  auto ep = parse_amqp_url(s.url);
  if (!ep) return std::unexpected(ep.error());
  std::unique_ptr<AmqpConnection> c(new AmqpConnection());
  c->conn_ = amqp_new_connection();
  amqp_socket_t* sock = amqp_tcp_socket_new(c->conn_);
  if (sock == nullptr) return make_error(ErrorCode::kInternal, "amqp: cannot create socket");
  timeval tv = to_timeval(s.connect_timeout.count() > 0 ? s.connect_timeout : std::chrono::milliseconds(2000));
  if (int rc = amqp_socket_open_noblock(sock, ep->host.c_str(), ep->port, &tv); rc != AMQP_STATUS_OK) {
    c->broken_ = true;
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("amqp {}:{}: {}", ep->host, ep->port, amqp_error_string2(rc)));
  }
  timeval rpc = to_timeval(rpc_timeout);
  amqp_set_rpc_timeout(c->conn_, &rpc);
  int heartbeat_s = 0;
  if (s.heartbeat.count() > 0) heartbeat_s = static_cast<int>((s.heartbeat.count() + 999) / 1000);
  // Without consumer_cancel_notify the broker drops a consumer silently when its queue is
  // deleted; with it, a basic.cancel arrives and the worker re-establishes the consumer.
  amqp_table_entry_t caps[2]{};
  caps[0].key = bytes("consumer_cancel_notify");
  caps[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps[0].value.value.boolean = 1;
  caps[1].key = bytes("publisher_confirms");
  caps[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps[1].value.value.boolean = 1;
  amqp_table_entry_t props[2]{};
  props[0].key = bytes("capabilities");
  props[0].value.kind = AMQP_FIELD_KIND_TABLE;
  props[0].value.value.table.num_entries = 2;
  props[0].value.value.table.entries = caps;
  props[1].key = bytes("product");
  props[1].value.kind = AMQP_FIELD_KIND_UTF8;
  props[1].value.value.bytes = bytes("earshot");
  amqp_table_t client_properties{2, props};
  auto login = amqp_login_with_properties(c->conn_, ep->vhost.c_str(), 0, 131072, heartbeat_s, &client_properties,
                                          AMQP_SASL_METHOD_PLAIN, ep->user.c_str(), ep->password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    c->broken_ = true;
    return make_error(ErrorCode::kUnavailable, fmt::format("amqp login: {}", reply_text(login)));
  }
  c->heartbeat_ = std::chrono::seconds(amqp_get_heartbeat(c->conn_));
  c->last_recv_ = std::chrono::steady_clock::now();
  // A write stuck this long means the broker stopped reading: give the connection up.
  c->watch_ = std::make_shared<WriteWatch>();
  c->watch_->fd = amqp_get_sockfd(c->conn_);
  c->watch_->limit = c->heartbeat_.count() > 0
                         ? std::max<std::chrono::milliseconds>(2 * c->heartbeat_, std::chrono::seconds(2))
                         : std::chrono::milliseconds(std::chrono::seconds(30));
  watch_writes(c->watch_);
  return c;
}

AmqpConnection::~AmqpConnection() {
  if (conn_ == nullptr) return;
  if (watch_) {
    std::lock_guard l(watch_->mu);
    watch_->open = false;  // the fd may be reused once the connection is destroyed
  }
  if (!broken_) amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn_);
}

Status AmqpConnection::rpc_status(amqp_channel_t channel, std::string_view what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return {};
  ErrorCode code = ErrorCode::kUnavailable;
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    if (m->reply_code == 404) code = ErrorCode::kNotFound;
    if (m->reply_code == 406) code = ErrorCode::kFailedPrecondition;
    std::string text = reply_text(r);
    channel_close_ok(channel);
    return make_error(code, fmt::format("{}: {}", what, text));
  }
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    std::string text = reply_text(r);
    amqp_connection_close_ok_t ok{};
    amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    broken_ = true;
    return make_error(code, fmt::format("{}: {}", what, text));
  }
  broken_ = true;
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
    code = ErrorCode::kTimeout;
  }
  return make_error(code, fmt::format("{}: {}", what, reply_text(r)));
}

Status AmqpConnection::open_channel(amqp_channel_t channel) {
  amqp_channel_open(conn_, channel);
  return rpc_status(channel, fmt::format("open channel {}", channel));
}

void AmqpConnection::close_channel(amqp_channel_t channel) {
  if (broken_) return;
  amqp_rpc_reply_t r = amqp_channel_close(conn_, channel, AMQP_REPLY_SUCCESS);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) broken_ = true;
}

void AmqpConnection::channel_close_ok(amqp_channel_t channel) {
  amqp_channel_close_ok_t ok{};
  if (amqp_send_method(conn_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK) {
    broken_ = true;
  }
  amqp_maybe_release_buffers_on_channel(conn_, channel);
}

Result<bool> AmqpConnection::next_frame(amqp_frame_t& frame, const Waker* waker, std::chrono::milliseconds timeout) {
  if (broken_) return make_error(ErrorCode::kUnavailable, "amqp: connection broken");
  const bool buffered = amqp_frames_enqueued(conn_) != 0 || amqp_data_in_buffer(conn_) != 0;
  if (!buffered) {
    pollfd fds[2]{};
    fds[0].fd = amqp_get_sockfd(conn_);
    fds[0].events = POLLIN;
    nfds_t n = 1;
    if (waker != nullptr) {
      fds[1].fd = waker->fd();
      fds[1].events = POLLIN;
      n = 2;
    }
    // Wake at least twice per heartbeat interval so heartbeats keep flowing while idle.
    auto wait = timeout;
    if (heartbeat_.count() > 0) wait = std::min(wait, heartbeat_ / 2);
    int rc = ::poll(fds, n, static_cast<int>(std::max<std::int64_t>(0, wait.count())));
    if (rc < 0 && errno != EINTR) {
      broken_ = true;
      return make_error(ErrorCode::kUnavailable, fmt::format("poll: {}", std::strerror(errno)));
    }
    // rabbitmq-c consumes heartbeat frames without returning them: any bytes from the
    // broker count as a sign of life.
    if (rc > 0 && (fds[0].revents & POLLIN) != 0) last_recv_ = std::chrono::steady_clock::now();
  }
  timeval zero{0, 0};
  int st = amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
  const auto now = std::chrono::steady_clock::now();
  if (st == AMQP_STATUS_OK) {
    last_recv_ = now;
    return true;
  }
  if (st == AMQP_STATUS_TIMEOUT) {
    // The broker sends heartbeats while idle; two missed intervals mean the peer is gone.
    if (heartbeat_.count() > 0 && now - last_recv_ > 2 * heartbeat_ + std::chrono::seconds(1)) {
      broken_ = true;
      return make_error(ErrorCode::kUnavailable, "amqp: missed broker heartbeats");
    }
    return false;
  }
  broken_ = true;
  return make_error(ErrorCode::kUnavailable, fmt::format("amqp: {}", amqp_error_string2(st)));
}

Result<Content> AmqpConnection::read_content(amqp_channel_t channel) {
  amqp_message_t msg{};
  amqp_rpc_reply_t r = amqp_read_message(conn_, channel, &msg, 0);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    broken_ = true;
    return make_error(ErrorCode::kUnavailable, fmt::format("amqp read: {}", reply_text(r)));
  }
  last_recv_ = std::chrono::steady_clock::now();
  Content c;
  if ((msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) {
    c.message_id = to_string(msg.properties.message_id);
  }
  if ((msg.properties._flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
    c.headers = decode_table(msg.properties.headers);
  }
  c.body = to_string(msg.body);
  amqp_destroy_message(&msg);
  return c;
}

Status AmqpConnection::publish(amqp_channel_t channel, const OutgoingMessage& m) {
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
             AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_HEADERS_FLAG;
  p.content_type = bytes("application/json");
  p.delivery_mode = 2;  // persistent
  p.message_id = bytes(m.message_id);
  p.timestamp = static_cast<std::uint64_t>(std::time(nullptr));
  TableBuilder tb;
  tb.add(m.headers);
  p.headers = tb.table();
  std::string expiration;
  if (m.expiration) {
    expiration = std::to_string(m.expiration->count());
    p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    p.expiration = bytes(expiration);
  }
  WriteScope scope(watch_.get());
  int rc = amqp_basic_publish(conn_, channel, bytes(m.exchange), bytes(m.routing_key), m.mandatory ? 1 : 0, 0, &p,
                              bytes(m.body));
  if (rc != AMQP_STATUS_OK) {
    broken_ = true;
    return make_error(ErrorCode::kUnavailable, fmt::format("amqp publish: {}", amqp_error_string2(rc)));
  }
  return {};
}

void AmqpConnection::ack(amqp_channel_t channel, std::uint64_t tag) {
  WriteScope scope(watch_.get());
  if (amqp_basic_ack(conn_, channel, tag, 0) != AMQP_STATUS_OK) broken_ = true;
}

void AmqpConnection::reject(amqp_channel_t channel, std::uint64_t tag) {
  WriteScope scope(watch_.get());
  if (amqp_basic_nack(conn_, channel, tag, 0, 1) != AMQP_STATUS_OK) broken_ = true;
}

namespace {

// The fields of a method the broker sent on its own; content and replies are left to the caller.
BrokerEvent decode_event(const amqp_frame_t& frame) {
  BrokerEvent ev;
  ev.channel = frame.channel;
  if (frame.frame_type != AMQP_FRAME_METHOD) return ev;  // heartbeats
  void* decoded = frame.payload.method.decoded;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      auto* d = static_cast<amqp_basic_deliver_t*>(decoded);
      ev.kind = BrokerEvent::Kind::kDeliver;
      ev.tag = d->delivery_tag;
      ev.redelivered = d->redelivered != 0;
      break;
    }
    case AMQP_BASIC_ACK_METHOD: {
      auto* a = static_cast<amqp_basic_ack_t*>(decoded);
      ev.kind = BrokerEvent::Kind::kAck;
      ev.tag = a->delivery_tag;
      ev.multiple = a->multiple != 0;
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto* n = static_cast<amqp_basic_nack_t*>(decoded);
      ev.kind = BrokerEvent::Kind::kNack;
      ev.tag = n->delivery_tag;
      ev.multiple = n->multiple != 0;
      break;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      auto* r = static_cast<amqp_basic_return_t*>(decoded);
      ev.kind = BrokerEvent::Kind::kReturn;
      ev.exchange = to_string(r->exchange);
      ev.routing_key = to_string(r->routing_key);
      ev.reply_code = r->reply_code;
      ev.reply_text = to_string(r->reply_text);
      break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
      ev.kind = BrokerEvent::Kind::kConsumerCancelled;
      break;
    case AMQP_CHANNEL_CLOSE_METHOD: {
      auto* m = static_cast<amqp_channel_close_t*>(decoded);
      ev.kind = BrokerEvent::Kind::kChannelClosed;
      ev.reply_code = m->reply_code;
      ev.reply_text = to_string(m->reply_text);
      break;
    }
    default:
      break;
  }
  return ev;
}

}  // namespace

Result<std::optional<BrokerEvent>> AmqpConnection::next_event(const Waker* waker, std::chrono::milliseconds timeout) {
  amqp_frame_t frame;
  auto got = next_frame(frame, waker, timeout);
  if (!got) return std::unexpected(got.error());
  if (!*got) return std::optional<BrokerEvent>{};
  if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
    std::string why = fmt::format("connection closed by broker: {} {}", m->reply_code, to_string(m->reply_text));
    amqp_connection_close_ok_t ok{};
    amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    broken_ = true;
    return make_error(ErrorCode::kUnavailable, std::move(why));
  }
  BrokerEvent ev = decode_event(frame);
  switch (ev.kind) {
    case BrokerEvent::Kind::kDeliver:
    case BrokerEvent::Kind::kReturn: {
      auto content = read_content(frame.channel);
      if (!content) return std::unexpected(content.error());
      ev.content = std::move(*content);
      break;
    }
    case BrokerEvent::Kind::kChannelClosed:
      channel_close_ok(frame.channel);
      break;
    default:
      break;
  }
  return ev;
}

Status AmqpConnection::qos(amqp_channel_t channel, std::uint16_t prefetch) {
  amqp_basic_qos(conn_, channel, 0, prefetch, 0);
  return rpc_status(channel, "basic.qos");
}

Status AmqpConnection::confirm_select(amqp_channel_t channel) {
  amqp_confirm_select(conn_, channel);
  return rpc_status(channel, "confirm.select");
}

Status AmqpConnection::consume(amqp_channel_t channel, std::string_view queue, std::string_view consumer_tag,
                               bool no_ack, bool exclusive) {
  amqp_basic_consume(conn_, channel, bytes(queue), bytes(consumer_tag), 0, no_ack ? 1 : 0, exclusive ? 1 : 0,
                     amqp_empty_table);
  return rpc_status(channel, fmt::format("consume {}", queue));
}

Status AmqpConnection::cancel(amqp_channel_t channel, std::string_view consumer_tag) {
  amqp_basic_cancel(conn_, channel, bytes(consumer_tag));
  return rpc_status(channel, fmt::format("cancel {}", consumer_tag));
}

Status AmqpConnection::declare_exchange(amqp_channel_t channel, std::string_view name, std::string_view type) {
  amqp_exchange_declare(conn_, channel, bytes(name), bytes(type), 0, 1, 0, 0, amqp_empty_table);
  return rpc_status(channel, fmt::format("declare {}", name));
}

Status AmqpConnection::check_exchange(amqp_channel_t channel, std::string_view name) {
  amqp_exchange_declare(conn_, channel, bytes(name), bytes("direct"), /*passive=*/1, 0, 0, 0, amqp_empty_table);
  return rpc_status(channel, fmt::format("passive declare {}", name));
}

Status AmqpConnection::declare_queue(amqp_channel_t channel, std::string_view name, TableBuilder& arguments) {
  amqp_queue_declare(conn_, channel, bytes(name), 0, 1, 0, 0, arguments.table());
  return rpc_status(channel, fmt::format("declare {}", name));
}

Result<std::string> AmqpConnection::declare_private_queue(amqp_channel_t channel) {
  auto* ok = amqp_queue_declare(conn_, channel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
  if (auto st = rpc_status(channel, "declare private queue"); !st) return std::unexpected(st.error());
  return to_string(ok->queue);
}

Result<std::uint32_t> AmqpConnection::queue_message_count(amqp_channel_t channel, std::string_view name) {
  auto* ok = amqp_queue_declare(conn_, channel, bytes(name), 1, 0, 0, 0, amqp_empty_table);
  if (auto st = rpc_status(channel, fmt::format("passive declare {}", name)); !st) return std::unexpected(st.error());
  return ok->message_count;
}

Status AmqpConnection::bind_queue(amqp_channel_t channel, std::string_view queue, std::string_view exchange,
                                  std::string_view routing_key) {
  amqp_queue_bind(conn_, channel, bytes(queue), bytes(exchange), bytes(routing_key), amqp_empty_table);
  return rpc_status(channel, fmt::format("bind {}", queue));
}

Status AmqpConnection::delete_queue(amqp_channel_t channel, std::string_view name) {
  amqp_queue_delete(conn_, channel, bytes(name), 0, 0);
  return rpc_status(channel, fmt::format("delete {}", name));
}

Result<std::uint32_t> AmqpConnection::purge_queue(amqp_channel_t channel, std::string_view name) {
  auto* ok = amqp_queue_purge(conn_, channel, bytes(name));
  if (auto st = rpc_status(channel, fmt::format("purge {}", name)); !st) return std::unexpected(st.error());
  return ok->message_count;
}

Result<std::optional<AmqpConnection::Got>> AmqpConnection::get(amqp_channel_t channel, std::string_view queue,
                                                               bool no_ack) {
  amqp_rpc_reply_t r = amqp_basic_get(conn_, channel, bytes(queue), no_ack ? 1 : 0);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    auto st = rpc_status(channel, fmt::format("get {}", queue));
    if (!st) return std::unexpected(st.error());
    return make_error(ErrorCode::kUnavailable, fmt::format("get {}: {}", queue, reply_text(r)));
  }
  if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::optional<Got>{};
  auto* ok = static_cast<amqp_basic_get_ok_t*>(r.reply.decoded);
  Got got;
  got.tag = ok->delivery_tag;
  got.routing_key = to_string(ok->routing_key);
  auto content = read_content(channel);
  if (!content) return std::unexpected(content.error());
  got.content = std::move(*content);
  return std::optional<Got>(std::move(got));
}

}  // namespace earshot::queue::detail

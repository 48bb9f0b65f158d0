#include "earshot/queue/amqp_settings.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <sys/time.h>

#include <charconv>

namespace earshot::queue {

void AmqpSettings::declare(ConfigSpec& spec) {
  spec.add_string("amqp_url", &url, "amqp://guest:guest@127.0.0.1:5672/",
                  "RabbitMQ URL amqp://user:password@host:port/vhost.", {.secret = true});
  spec.add_duration("amqp_heartbeat", &heartbeat, std::chrono::seconds(10), std::chrono::seconds(0),
                    std::chrono::minutes(10), "AMQP heartbeat interval (0 disables).");
  spec.add_duration("amqp_connect_timeout", &connect_timeout, std::chrono::seconds(2), std::chrono::milliseconds(100),
                    std::chrono::minutes(1), "Deadline to open a connection.");
}

namespace {

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int v = 0;
      if (i + 2 >= s.size() || std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3) {
        return make_error(ErrorCode::kInvalidArgument, "bad percent-encoding in AMQP URL");
      }
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Result<AmqpEndpoint> parse_amqp_url(std::string_view url) {
  constexpr std::string_view kScheme = "amqp://";
  if (!url.starts_with(kScheme)) {
    return make_error(ErrorCode::kInvalidArgument, "AMQP URL must start with amqp://");
  }
  std::string_view rest = url.substr(kScheme.size());
  AmqpEndpoint ep;
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    auto user = percent_decode(cred.substr(0, colon));
    if (!user) return std::unexpected(user.error());
    ep.user = *user;
    if (colon != std::string_view::npos) {
      auto pw = percent_decode(cred.substr(colon + 1));
      if (!pw) return std::unexpected(pw.error());
      ep.password = *pw;
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p <= 0 || p > 65535) {
      return make_error(ErrorCode::kInvalidArgument, "AMQP URL has an invalid port");
    }
    ep.port = p;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return make_error(ErrorCode::kInvalidArgument, "AMQP URL has no host");
  ep.host = std::string(rest);
  if (!path.empty()) {
    auto vhost = percent_decode(path);
    if (!vhost) return std::unexpected(vhost.error());
    ep.vhost = *vhost;
  }
  return ep;
}

namespace {

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
        return fmt::format("connection closed by server: {} {}", m->reply_code,
                           std::string_view(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len));
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return fmt::format("channel closed by server: {} {}", m->reply_code,
                           std::string_view(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len));
      }
      return "server exception";
  }
  return "unknown reply";
}

// Connects, logs in and opens channel 1; ping is a passive declare of a built-in exchange,
// a full round trip through the broker.
class AmqpProbe final : public DependencyProbe {
 public:
  explicit AmqpProbe(AmqpSettings s) : s_(std::move(s)) {}
  ~AmqpProbe() override { close(); }

  std::string name() const override { return "rabbitmq"; }

  Status connect() override {
    close();
    auto ep = parse_amqp_url(s_.url);
    if (!ep) return std::unexpected(ep.error());
    conn_ = amqp_new_connection();
    amqp_socket_t* sock = amqp_tcp_socket_new(conn_);
    if (sock == nullptr) {
      close();
      return make_error(ErrorCode::kInternal, "amqp: cannot create socket");
    }
    timeval tv{};
    tv.tv_sec = s_.connect_timeout.count() / 1000;
    tv.tv_usec = (s_.connect_timeout.count() % 1000) * 1000;
    if (int rc = amqp_socket_open_noblock(sock, ep->host.c_str(), ep->port, &tv); rc != AMQP_STATUS_OK) {
      close();
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("amqp {}:{}: {}", ep->host, ep->port, amqp_error_string2(rc)));
    }
    // Bound every later RPC so a hung broker cannot stall the probe forever.
    timeval rpc{2, 0};
    amqp_set_rpc_timeout(conn_, &rpc);
    const int heartbeat = static_cast<int>(s_.heartbeat.count() / 1000);
    auto login = amqp_login(conn_, ep->vhost.c_str(), 0, 131072, heartbeat, AMQP_SASL_METHOD_PLAIN, ep->user.c_str(),
                            ep->password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
      std::string why = reply_text(login);
      close();
      return make_error(ErrorCode::kUnavailable, fmt::format("amqp login: {}", why));
    }
    amqp_channel_open(conn_, 1);
    if (auto r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL) {
      std::string why = reply_text(r);
      close();
      return make_error(ErrorCode::kUnavailable, fmt::format("amqp channel: {}", why));
    }
    return {};
  }

  Status ping() override {
    if (conn_ == nullptr) return make_error(ErrorCode::kUnavailable, "amqp: not connected");
    amqp_exchange_declare(conn_, 1, amqp_cstring_bytes("amq.direct"), amqp_cstring_bytes("direct"),
                          /*passive=*/1, /*durable=*/1, 0, 0, amqp_empty_table);
    if (auto r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return make_error(ErrorCode::kUnavailable, fmt::format("amqp: {}", reply_text(r)));
    }
    return {};
  }

  void close() override {
    if (conn_ != nullptr) {
      // Best effort; on a dead socket these fail fast (RPC timeout bounds them).
      amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
      amqp_destroy_connection(conn_);
      conn_ = nullptr;
    }
  }

 private:
  AmqpSettings s_;
  amqp_connection_state_t conn_ = nullptr;
};

}  // namespace

std::unique_ptr<DependencyProbe> make_amqp_probe(const AmqpSettings& settings) {
  return std::make_unique<AmqpProbe>(settings);
}

}  // namespace earshot::queue

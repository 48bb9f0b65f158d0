#include "earshot/queue/amqp_settings.hpp"

#include <fmt/format.h>

#include <charconv>

#include "amqp_connection.hpp"

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

// Connects, logs in and opens channel 1; ping is a passive declare of a built-in exchange,
// a full round trip through the broker.
class AmqpProbe final : public DependencyProbe {
 public:
  explicit AmqpProbe(AmqpSettings s) : s_(std::move(s)) {}
  ~AmqpProbe() override { close(); }

  std::string name() const override { return "rabbitmq"; }

  Status connect() override {
    close();
    // Bound every later RPC so a hung broker cannot stall the probe forever.
    auto c = detail::AmqpConnection::open(s_, std::chrono::seconds(2));
    if (!c) return std::unexpected(c.error());
    if (auto st = (*c)->open_channel(kChannel); !st) {
      return make_error(ErrorCode::kUnavailable, fmt::format("amqp channel: {}", st.error().message));
    }
    conn_ = std::move(*c);
    return {};
  }

  Status ping() override {
    if (!conn_) return make_error(ErrorCode::kUnavailable, "amqp: not connected");
    if (auto st = conn_->check_exchange(kChannel, "amq.direct"); !st) {
      return make_error(ErrorCode::kUnavailable, fmt::format("amqp: {}", st.error().message));
    }
    return {};
  }

  // Best effort; on a dead socket this fails fast (the RPC timeout bounds it).
  void close() override { conn_.reset(); }

 private:
  static constexpr amqp_channel_t kChannel = 1;
  AmqpSettings s_;
  std::unique_ptr<detail::AmqpConnection> conn_;
};

}  // namespace

std::unique_ptr<DependencyProbe> make_amqp_probe(const AmqpSettings& settings) {
  return std::make_unique<AmqpProbe>(settings);
}

}  // namespace earshot::queue

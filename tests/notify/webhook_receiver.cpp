#include "webhook_receiver.hpp"

#include "earshot/notify/signature.hpp"
#include "fakes/stt/fake_server.hpp"
#include "support/process.hpp"

namespace earshot::testing {

WebhookReceiver::WebhookReceiver(std::string secret, int threads) : secret_(std::move(secret)) {
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_.set_keep_alive_max_count(1000000);
  server_.set_tcp_nodelay(true);
  server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
}

WebhookReceiver::~WebhookReceiver() {
  stop();
}

bool WebhookReceiver::start() {
  // Port 0: the kernel picks the port and the socket stays bound (no window for a race).
  const int port = server_.bind_to_any_port("127.0.0.1");
  if (port <= 0) return false;
  port_ = port;
  widen_listen_backlog(port);
  return start_accept_loop(server_, thread_, port);
}

void WebhookReceiver::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WebhookReceiver::fail_next(int n, int status) {
  std::lock_guard lock(mu_);
  fail_n_ = n;
  fail_status_ = status;
}
void WebhookReceiver::rate_limit_next(int n, int retry_after_s) {
  std::lock_guard lock(mu_);
  limit_n_ = n;
  retry_after_s_ = retry_after_s;
}
void WebhookReceiver::hold_next(int n, std::chrono::milliseconds d) {
  std::lock_guard lock(mu_);
  hold_n_ = n;
  hold_ = d;
}
void WebhookReceiver::fail_always(int status) {
  std::lock_guard lock(mu_);
  fail_always_ = status;
}
void WebhookReceiver::set_secret(std::string secret) {
  std::lock_guard lock(mu_);
  secret_ = std::move(secret);
}

void WebhookReceiver::handle(const httplib::Request& req, httplib::Response& res) {
  requests_seen_.fetch_add(1);
  ReceivedWebhook r;
  r.event_id = req.get_header_value("X-Earshot-Event-Id");
  r.event_type = req.get_header_value("X-Earshot-Event");
  r.body = req.body;
  r.signature = req.get_header_value("X-Earshot-Signature");
  r.at = std::chrono::steady_clock::now();
  std::string secret;
  {
    std::lock_guard lock(mu_);
    secret = secret_;
  }
  if (verify_.load()) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    r.signature_ok = notify::verify_signature(r.signature, secret, r.body, now, std::chrono::seconds(300)).has_value();
    // The event id in the header must be the body's.
    if (r.signature_ok && r.body.find("\"id\":\"" + r.event_id + "\"") == std::string::npos) r.signature_ok = false;
  } else {
    r.signature_ok = true;
  }
  if (!r.signature_ok) {
    bad_signatures_.fetch_add(1);
    r.answered = 401;
    res.status = 401;
    res.set_content(R"({"error":"bad signature"})", "application/json");
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(r));
    return;
  }
  int status = 200;
  std::optional<std::chrono::milliseconds> hold;
  {
    std::lock_guard lock(mu_);
    if (fail_always_) {
      status = fail_always_;
    } else if (limit_n_ > 0) {
      --limit_n_;
      status = 429;
      res.set_header("Retry-After", std::to_string(retry_after_s_));
    } else if (fail_n_ > 0) {
      --fail_n_;
      status = fail_status_;
    } else if (hold_n_ > 0) {
      --hold_n_;
      hold = hold_;
    }
  }
  if (hold) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, *hold, [&] { return stopping_; });
    if (stopping_) return;
  }
  res.status = status;
  res.set_content(status < 300 ? R"({"ok":true})" : R"({"error":"receiver says no"})", "application/json");
  std::lock_guard lock(mu_);
  r.answered = status;
  if (status >= 200 && status < 300) {
    if (accepted_.count(r.event_id)) {
      duplicates_.fetch_add(1);
    } else {
      accepted_[r.event_id] = r;
    }
  }
  requests_.push_back(std::move(r));
}

std::vector<ReceivedWebhook> WebhookReceiver::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<ReceivedWebhook> WebhookReceiver::accepted() const {
  std::lock_guard lock(mu_);
  std::vector<ReceivedWebhook> out;
  for (const auto& [k, v] : accepted_) out.push_back(v);
  return out;
}

int WebhookReceiver::accepted_count() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(accepted_.size());
}

}  // namespace earshot::testing

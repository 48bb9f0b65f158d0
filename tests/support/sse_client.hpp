#pragma once
// A server-sent-events client for the end-to-end tests of GET /api/v1/events: runs on its
// own thread, parses frames as they arrive (id, event, data), counts heartbeats, and hangs
// up when told to (or after `stop_after` events).
#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace earshot::testing {

struct SseEvent {
  std::string id;
  std::string type;
  nlohmann::json data;
};

class SseClient {
 public:
  SseClient(int port, std::string token, std::string last_event_id = "", std::size_t stop_after = 0)
      : port_(port), token_(std::move(token)), last_(std::move(last_event_id)), stop_after_(stop_after) {
    thread_ = std::thread([this] { run(); });
  }
  ~SseClient() {
    hang_up();
    if (thread_.joinable()) thread_.join();
  }
  void hang_up() { stop_.store(true); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  std::vector<SseEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  int heartbeats() const { return heartbeats_.load(); }
  int status() const { return status_.load(); }
  bool connected() const { return connected_.load(); }
  bool finished() const { return finished_.load(); }
  std::string content_type() {
    std::lock_guard lock(mu_);
    return content_type_;
  }
  std::string retry_after() {
    std::lock_guard lock(mu_);
    return retry_after_;
  }

 private:
  void run() {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(1, 0);  // a heartbeat or an event arrives well within this in the tests
    httplib::Headers h{{"Authorization", "Bearer " + token_}};
    if (!last_.empty()) h.emplace("Last-Event-ID", last_);
    std::string buf;
    auto res = cli.Get(
        "/api/v1/events", h,
        [&](const httplib::Response& r) {
          status_.store(r.status);
          std::lock_guard lock(mu_);
          content_type_ = r.get_header_value("Content-Type");
          retry_after_ = r.get_header_value("Retry-After");
          return r.status == 200;
        },
        [&](const char* data, std::size_t n) {
          connected_.store(true);
          buf.append(data, n);
          for (auto end = buf.find("\n\n"); end != std::string::npos; end = buf.find("\n\n")) {
            parse(buf.substr(0, end));
            buf.erase(0, end + 2);
          }
          return !stop_.load() && (stop_after_ == 0 || count() < stop_after_);
        });
    if (res && status_.load() == 0) status_.store(res->status);
    finished_.store(true);
  }

  void parse(const std::string& frame) {
    SseEvent e;
    std::string data;
    bool comment_only = true;
    std::size_t pos = 0;
    while (pos < frame.size()) {
      auto nl = frame.find('\n', pos);
      if (nl == std::string::npos) nl = frame.size();
      const std::string line = frame.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.starts_with(":")) {
        if (line == ": heartbeat") heartbeats_.fetch_add(1);
        continue;
      }
      comment_only = false;
      if (line.starts_with("id: ")) e.id = line.substr(4);
      if (line.starts_with("event: ")) e.type = line.substr(7);
      if (line.starts_with("data: ")) data += line.substr(6);
    }
    if (comment_only || data.empty()) return;
    e.data = nlohmann::json::parse(data, nullptr, false);
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }

  int port_;
  std::string token_;
  std::string last_;
  std::size_t stop_after_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> finished_{false};
  std::atomic<int> status_{0};
  std::atomic<int> heartbeats_{0};
  std::mutex mu_;
  std::vector<SseEvent> events_;
  std::string content_type_;
  std::string retry_after_;
};

// One JSON request to a gateway on 127.0.0.1:`port` (bearer `token` when set): the status
// (0 when nothing answered) and the body.
inline std::pair<int, std::string> gateway_call(int port, const std::string& method, const std::string& path,
                                                const std::string& token, const nlohmann::json& body = nullptr) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(10, 0);
  httplib::Request req;
  req.method = method;
  req.path = path;
  if (!token.empty()) req.set_header("Authorization", "Bearer " + token);
  if (!body.is_null()) {
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
  }
  auto res = cli.send(req);
  if (!res) return {0, ""};
  return {res->status, res->body};
}

// Logs in through the gateway and returns the access token (empty, with a test failure
// recorded by the caller's status check, when the login is refused).
inline std::string gateway_login(int port, const std::string& email, const std::string& password,
                                 const std::string& bid) {
  nlohmann::json body{{"email", email}, {"password", password}};
  if (!bid.empty()) body["bid"] = bid;
  auto r = gateway_call(port, "POST", "/api/v1/auth/login", "", body);
  if (r.first != 200) return "";
  return nlohmann::json::parse(r.second, nullptr, false).value("access_token", "");
}

}  // namespace earshot::testing

#pragma once
// Twilio's recording media, as the recording status callback points at it:
//   GET /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}
// with HTTP basic auth AccountSid:AuthToken (Twilio's "HTTP auth on media URLs"). Answers
// the recording (audio/x-wav), 401 with Twilio's error body {"code": 20003, "message":
// "Authenticate", "more_info", "status": 401} for missing or wrong credentials, 404
// {"code": 20404, ...} for an unknown recording, and 429 {"code": 20429, "message": "Too Many
// Requests"} while `throttle_next` is above zero.

#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "earshot/crypto/base64.hpp"

namespace earshot::testing {

class FakeTwilio {
 public:
  FakeTwilio(std::string account_sid, std::string auth_token)
      : account_sid_(std::move(account_sid)), auth_token_(std::move(auth_token)) {
    server_.Get(R"(/2010-04-01/Accounts/([^/]+)/Recordings/([^/.]+)(\.wav)?)",
                [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound (and listening) already: connections wait in the backlog until the loop runs.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeTwilio() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  FakeTwilio(const FakeTwilio&) = delete;
  FakeTwilio& operator=(const FakeTwilio&) = delete;

  void add_recording(const std::string& recording_sid, std::string bytes) {
    std::lock_guard lock(mu_);
    recordings_[recording_sid] = std::move(bytes);
  }
  // The RecordingUrl Twilio would send for a recording of this account.
  [[nodiscard]] std::string recording_url(const std::string& recording_sid) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/2010-04-01/Accounts/" + account_sid_ + "/Recordings/" +
           recording_sid;
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int downloads() const { return downloads_.load(); }
  [[nodiscard]] int refused() const { return refused_.load(); }
  std::atomic<int> throttle_next{0};

 private:
  static std::string error(int code, const std::string& message, int status) {
    return "{\"code\": " + std::to_string(code) + ", \"message\": \"" + message +
           "\", \"more_info\": \"https://www.twilio.com/docs/errors/" + std::to_string(code) +
           "\", \"status\": " + std::to_string(status) + "}";
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    const std::string expected = "Basic " + crypto::base64_encode(account_sid_ + ":" + auth_token_);
    if (req.matches[1] != account_sid_ || req.get_header_value("Authorization") != expected) {
      ++refused_;
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"Twilio API\"");
      res.set_content(error(20003, "Authenticate", 401), "application/json");
      return;
    }
    if (throttle_next.load() > 0) {
      --throttle_next;
      res.status = 429;
      res.set_content(error(20429, "Too Many Requests", 429), "application/json");
      return;
    }
    std::lock_guard lock(mu_);
    auto it = recordings_.find(req.matches[2]);
    if (it == recordings_.end()) {
      res.status = 404;
      res.set_content(error(20404, "The requested resource was not found", 404), "application/json");
      return;
    }
    ++downloads_;
    res.set_content(it->second, "audio/x-wav");
  }

  std::string account_sid_;
  std::string auth_token_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, std::string> recordings_;
  std::atomic<int> downloads_{0};
  std::atomic<int> refused_{0};
};

}  // namespace earshot::testing

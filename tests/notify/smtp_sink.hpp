#pragma once
// A minimal SMTP server on 127.0.0.1 for tests: speaks enough of RFC 5321 for libcurl
// (EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) and keeps every
// message. Can refuse recipients with 550 or be told to answer 421 (service unavailable).
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace earshot::testing {

struct SmtpMessage {
  std::string from;
  std::vector<std::string> to;
  std::string data;  // headers and body as received (CR LF line ends)
};

class SmtpSink {
 public:
  SmtpSink() = default;
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  bool start();
  void stop();
  [[nodiscard]] std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  void set_unavailable(bool on) { unavailable_ = on; }
  void refuse_recipient(std::string addr);
  [[nodiscard]] std::vector<SmtpMessage> messages() const;

 private:
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> unavailable_{false};
  mutable std::mutex mu_;
  std::vector<SmtpMessage> messages_;
  std::vector<std::string> refused_;
};

}  // namespace earshot::testing

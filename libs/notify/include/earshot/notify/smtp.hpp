#pragma once
// Alert e-mail over SMTP with libcurl (smtp:// or smtps://, optional AUTH, STARTTLS when
// the server offers it on smtp://).

#include <chrono>
#include <string>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::notify {

struct Email {
  std::vector<std::string> to;
  std::string subject;
  std::string text;
};

class MailSender {
 public:
  virtual ~MailSender() = default;
  // Blocking, bounded by the sender's timeout. kUnavailable / kTimeout are retryable;
  // kInvalidArgument (a recipient or message the server refused) is not.
  [[nodiscard]] virtual Status send(const Email& email) = 0;
};

struct SmtpOptions {
  std::string url;  // smtp://host:port
  std::string from;
  std::string username;
  std::string password;
  std::chrono::milliseconds timeout{10'000};
};

class CurlSmtpSender final : public MailSender {
 public:
  explicit CurlSmtpSender(SmtpOptions options) : o_(std::move(options)) {}
  [[nodiscard]] Status send(const Email& email) override;

 private:
  SmtpOptions o_;
};

// The RFC 5322 message CurlSmtpSender sends (CR LF line ends; header values stripped of
// CR/LF so a subject cannot inject headers).
[[nodiscard]] std::string format_email(const std::string& from, const Email& email,
                                       std::chrono::system_clock::time_point now);

}  // namespace earshot::notify

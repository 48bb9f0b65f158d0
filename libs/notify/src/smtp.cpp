#include "earshot/notify/smtp.hpp"

#include <curl/curl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstring>

#include "earshot/queue/message.hpp"

namespace earshot::notify {
namespace {

std::string header_value(std::string_view v) {
  std::string out;
  for (char c : v) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

struct Reader {
  const std::string* data = nullptr;
  std::size_t pos = 0;
};

std::size_t read_cb(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Reader*>(user);
  const std::size_t room = size * n;
  const std::size_t left = r->data->size() - r->pos;
  const std::size_t k = std::min(room, left);
  std::memcpy(buf, r->data->data() + r->pos, k);
  r->pos += k;
  return k;
}

}  // namespace

std::string format_email(const std::string& from, const Email& email, std::chrono::system_clock::time_point now) {
  std::string to;
  for (const auto& t : email.to) to += (to.empty() ? "" : ", ") + header_value(t);
  std::string msg;
  msg +=
      fmt::format("Date: {:%a, %d %b %Y %H:%M:%S} +0000\r\n", std::chrono::time_point_cast<std::chrono::seconds>(now));
  msg += "From: " + header_value(from) + "\r\n";
  msg += "To: " + to + "\r\n";
  msg += "Subject: " + header_value(email.subject) + "\r\n";
  msg += "Message-ID: <" + queue::new_message_id() + "@earshot>\r\n";
  msg += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  std::string_view body = email.text;
  // CR LF line ends; a line holding only "." is escaped by the SMTP client (curl).
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) msg += '\r';
    msg += body[i];
  }
  if (!msg.ends_with("\r\n")) msg += "\r\n";
  return msg;
}

Status CurlSmtpSender::send(const Email& email) {
  if (o_.url.empty()) return make_error(ErrorCode::kFailedPrecondition, "no SMTP server configured (EARSHOT_SMTP_URL)");
  if (email.to.empty()) return make_error(ErrorCode::kInvalidArgument, "an e-mail needs a recipient");
  CURL* curl = curl_easy_init();
  if (!curl) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
  const std::string message = format_email(o_.from, email, std::chrono::system_clock::now());
  Reader reader{&message};
  curl_slist* rcpt = nullptr;
  for (const auto& t : email.to) rcpt = curl_slist_append(rcpt, ("<" + t + ">").c_str());
  const std::string from = "<" + o_.from + ">";
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, o_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<std::int64_t>(o_.timeout.count(), 5000)));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  if (!o_.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, o_.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, o_.password.c_str());
  }
  const CURLcode rc = curl_easy_perform(curl);
  long response = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OK) return {};
  const std::string why =
      fmt::format("SMTP {}: {}{}", response, curl_easy_strerror(rc), errbuf[0] ? std::string(" (") + errbuf + ")" : "");
  if (rc == CURLE_OPERATION_TIMEDOUT) return make_error(ErrorCode::kTimeout, why);
  // 5xx replies are permanent refusals (unknown mailbox, message rejected); the rest is
  // trouble reaching or talking to the server.
  if (response >= 500 && response < 600) return make_error(ErrorCode::kInvalidArgument, why);
  return make_error(ErrorCode::kUnavailable, why);
}

}  // namespace earshot::notify

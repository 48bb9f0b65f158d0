#include "earshot/http/http_client.hpp"

#include <future>
#include <random>

namespace earshot::http {

namespace {

std::string random_boundary() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string b = "earshot-";
  for (int i = 0; i < 32; ++i) b.push_back(kHex[rng() % 16]);
  return b;
}

void set_header(HttpRequest& r, std::string name, std::string value) {
  for (auto& [n, v] : r.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      v = std::move(value);
      return;
    }
  }
  r.headers.emplace_back(std::move(name), std::move(value));
}

}  // namespace

void CancelSignal::cancel() {
  std::lock_guard lock(mu_);
  if (cancelled_) return;
  cancelled_ = true;
  // Under the lock, so that unsubscribe() returning means the hook is not running.
  for (auto& [id, hook] : hooks_) hook();
  hooks_.clear();
}

bool CancelSignal::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

std::uint64_t CancelSignal::subscribe(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  if (cancelled_) {
    hook();
    return 0;
  }
  const std::uint64_t id = next_id_++;
  hooks_.emplace(id, std::move(hook));
  return id;
}

void CancelSignal::unsubscribe(std::uint64_t id) {
  if (id == 0) return;
  std::lock_guard lock(mu_);
  hooks_.erase(id);
}

void HttpRequest::set_multipart(const std::vector<MultipartPart>& parts) {
  std::string boundary;
  // A boundary must not occur inside any part; a random 32-hex one practically never does,
  // but checking is cheap next to sending the bytes.
  for (;;) {
    boundary = random_boundary();
    bool clash = false;
    for (const auto& p : parts) clash = clash || p.data.find(boundary) != std::string::npos;
    if (!clash) break;
  }
  std::size_t size = 0;
  for (const auto& p : parts) size += p.data.size() + 256;
  std::string out;
  out.reserve(size);
  for (const auto& p : parts) {
    out += "--" + boundary + "\r\n";
    out += "Content-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) out += "; filename=\"" + p.filename + "\"";
    out += "\r\n";
    if (!p.filename.empty() || !p.content_type.empty()) {
      out += "Content-Type: " + (p.content_type.empty() ? std::string("application/octet-stream") : p.content_type) +
             "\r\n";
    }
    out += "\r\n";
    out += p.data;
    out += "\r\n";
  }
  out += "--" + boundary + "--\r\n";
  body = std::move(out);
  set_header(*this, "Content-Type", "multipart/form-data; boundary=" + boundary);
}

void HttpRequest::set_body(std::string content, std::string content_type) {
  body = std::move(content);
  set_header(*this, "Content-Type", std::move(content_type));
}

Result<HttpResponse> HttpClient::send_sync(HttpRequest request) {
  std::promise<Result<HttpResponse>> promise;
  auto future = promise.get_future();
  send(std::move(request), [&promise](Result<HttpResponse> r) { promise.set_value(std::move(r)); });
  return future.get();
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace earshot::http

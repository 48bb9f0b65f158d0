#pragma once
// An HttpClient for the fuzz targets of provider responses: every request is answered from
// the fuzz input, never from the network. The input is a list of replies separated by
// "\n--\n"; each reply is a status byte (an index into kStatuses) and then the body. Request
// N gets reply N; once they run out, the last one again. Streaming requests get the body in
// pieces of varying size, as a network would deliver it.
//
// Like the real client, callbacks run on the client's loop (run()), never inside send(),
// unless `inline_replies` is set (for send_sync callers, which wait on the calling thread).
// post_after() moves the fake clock by its delay, so retry and polling loops reach their
// deadlines; run() stops after a bounded number of steps.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earshot/http/http_client.hpp"
#include "fake_clock.hpp"

namespace earshot::fuzz {

struct Reply {
  int status = 200;
  std::string body;
};

inline std::vector<Reply> replies_of(std::string_view input) {
  static constexpr int kStatuses[] = {200, 200, 200, 200, 201, 202, 204, 400, 401, 403, 404, 413, 422, 429, 500, 503};
  std::vector<Reply> out;
  while (true) {
    const auto sep = input.find("\n--\n");
    const auto part = input.substr(0, sep);
    Reply r;
    if (!part.empty()) {
      r.status = kStatuses[static_cast<unsigned char>(part[0]) % std::size(kStatuses)];
      r.body = std::string(part.substr(1));
    }
    out.push_back(std::move(r));
    if (sep == std::string_view::npos || out.size() >= 16) break;
    input = input.substr(sep + 4);
  }
  return out;
}

class FuzzHttpClient final : public http::HttpClient {
 public:
  FuzzHttpClient(testing::FakeClock& clock, std::vector<Reply> replies, bool inline_replies = false)
      : clock_(clock), replies_(std::move(replies)), inline_(inline_replies) {}

  void send(http::HttpRequest request, http::ResponseCallback done) override {
    const Reply& r = replies_[std::min(next_, replies_.size() - 1)];
    ++next_;
    auto answer = [r, request = std::move(request), done = std::move(done)]() mutable {
      if (request.cancel && request.cancel->cancelled()) {
        done(make_error(ErrorCode::kUnavailable, "cancelled"));
        return;
      }
      if (r.body.size() > request.max_response_bytes) {
        done(make_error(ErrorCode::kInvalidArgument, "response too large"));
        return;
      }
      http::HttpResponse res;
      res.status = r.status;
      res.headers["content-type"] = "application/json";
      if (r.status == 429 || r.status == 503) res.headers["retry-after"] = "1";
      if (request.on_body) {
        std::size_t at = 0, step = 1;
        while (at < r.body.size()) {
          const auto n = std::min(step, r.body.size() - at);
          request.on_body(r.status, std::string_view(r.body).substr(at, n));
          at += n;
          step = step % 23 + 7;
        }
      }
      res.body = r.body;
      done(std::move(res));
    };
    if (inline_) {
      answer();
    } else {
      tasks_.emplace_back(std::move(answer));
    }
  }

  void post_after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    tasks_.emplace_back([this, delay, fn = std::move(fn)] {
      clock_.advance(delay);
      fn();
    });
  }

  [[nodiscard]] bool shutting_down() const override { return false; }

  // Runs queued callbacks and timers in order, at most `max_steps`.
  void run(std::size_t max_steps = 200) {
    for (std::size_t i = 0; i < max_steps && !tasks_.empty(); ++i) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      task();
    }
  }

 private:
  testing::FakeClock& clock_;
  std::vector<Reply> replies_;
  bool inline_;
  std::size_t next_ = 0;
  std::deque<std::function<void()>> tasks_;
};

}  // namespace earshot::fuzz

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "earshot/http/curl_http_client.hpp"
#include "fakes/stt/fake_server.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"
#include "support/timing.hpp"

namespace earshot::http {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// A loopback server with a few behaviours selected by path.
class TestServer {
 public:
  // A thread per connection the client keeps open; the 200-parallel test needs 300, the others
  // a few (each thread is costly to start under ThreadSanitizer).
  explicit TestServer(std::size_t threads = 32) {
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Custom-Thing", "yes");
      res.set_content("hi", "text/plain");
    });
    server_.Get("/slow", [this](const httplib::Request& req, httplib::Response& res) {
      const int now = ++concurrent_;
      int prev = peak_.load();
      while (now > prev && !peak_.compare_exchange_weak(prev, now)) {
      }
      const auto ms = std::stoi(req.get_param_value("ms"));
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
      --concurrent_;
      res.set_content("done", "text/plain");
    });
    server_.Get("/peer", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      res.set_content(std::to_string(req.remote_port), "text/plain");  // the client's port: one per connection
    });
    server_.Get("/redirect", [](const httplib::Request& req, httplib::Response& res) {
      res.set_redirect(req.get_param_value("to"));
    });
    server_.Get("/big", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::string(std::stoul(req.get_param_value("bytes")), 'x'), "text/plain");
    });
    server_.Get("/chunked-big", [](const httplib::Request& req, httplib::Response& res) {
      const auto total = std::stoul(req.get_param_value("bytes"));
      res.set_chunked_content_provider("text/plain", [total](size_t offset, httplib::DataSink& sink) {
        if (offset >= total) {
          sink.done();
          return true;
        }
        std::string chunk(std::min<size_t>(4096, total - offset), 'y');
        sink.write(chunk.data(), chunk.size());
        return true;
      });
    });
    // Streams "data: one", then waits (at most 5 s) until the client says it has seen it
    // before sending "data: two": a client that only passes the body on at the end stalls it.
    server_.Get("/trickle", [this](const httplib::Request&, httplib::Response& res) {
      auto step = std::make_shared<int>(0);
      res.set_chunked_content_provider("text/event-stream", [this, step](size_t, httplib::DataSink& sink) {
        std::string piece;
        if (*step == 0) {
          piece = "data: one\n\n";
        } else if (*step == 1) {
          std::unique_lock lock(mu_);
          released_by_client_ = cv_.wait_for(lock, 5s, [this] { return stopping_ || first_seen_; }) && first_seen_;
          piece = "data: two\n\n";
        } else {
          sink.done();
          return true;
        }
        ++*step;
        return sink.write(piece.data(), piece.size());
      });
    });
    // `pieces` pieces, `ms` apart; a piece the client no longer takes (it hung up) ends the
    // body and is counted in drips_cut_.
    server_.Get("/drip", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      const int pieces = std::stoi(req.get_param_value("pieces"));
      const auto gap = std::chrono::milliseconds(std::stoi(req.get_param_value("ms")));
      auto sent = std::make_shared<int>(0);
      // text/event-stream: the server does not gzip it (which would hold the pieces back).
      res.set_chunked_content_provider("text/event-stream", [this, pieces, gap, sent](size_t, httplib::DataSink& sink) {
        if (*sent == pieces) {
          sink.done();
          return true;
        }
        if (*sent > 0) {
          std::unique_lock lock(mu_);
          cv_.wait_for(lock, gap, [this] { return stopping_; });
        }
        ++*sent;
        const std::string piece = "piece\n";
        if (!sink.is_writable() || !sink.write(piece.data(), piece.size())) {
          ++drips_cut_;
          return false;
        }
        return true;
      });
    });
    const auto echo = [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      std::string out =
          req.method + "\n" + req.get_header_value("Content-Type") + "\n" + req.get_header_value("X-Test") + "\n";
      if (req.is_multipart_form_data()) {
        for (const auto& [name, part] : req.files) out += name + "=" + part.content + ";" + part.filename + "\n";
      } else {
        out += req.body;
      }
      res.status = req.has_param("status") ? std::stoi(req.get_param_value("status")) : 200;
      res.set_header("Retry-After", "7");
      res.set_content(out, "text/plain");
    };
    server_.Get("/echo", echo);
    server_.Post("/echo", echo);
    server_.Put("/echo", echo);
    // Port 0: the kernel picks the port and the socket stays bound (no window for a race).
    port_ = std::max(0, server_.bind_to_any_port("127.0.0.1"));
    if (port_ != 0) {
      testing::widen_listen_backlog(port_);
    }
    if (!testing::start_accept_loop(server_, thread_, port_)) {
      ADD_FAILURE() << "the loopback test server did not start listening within 10 s (port " << port_ << ")";
    }
  }
  ~TestServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] int port() const { return port_; }
  void first_piece_seen() {
    {
      std::lock_guard lock(mu_);
      first_seen_ = true;
    }
    cv_.notify_all();
  }
  [[nodiscard]] bool released_by_client() {
    std::lock_guard lock(mu_);
    return released_by_client_;
  }
  std::atomic<int> peak_{0};
  std::atomic<int> hits_{0};
  std::atomic<int> drips_cut_{0};

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> concurrent_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool first_seen_ = false;          // guarded by mu_
  bool released_by_client_ = false;  // guarded by mu_
};

HttpRequest get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.timeout = 5s;
  return r;
}

TEST(CurlHttpClient, GetReturnsStatusLowerCasedHeadersBodyAndElapsed) {
  TestServer server;
  CurlHttpClient client;
  auto r = client.send_sync(get(server.url("/hello")));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hi");
  EXPECT_EQ(r->header("x-custom-thing").value_or(""), "yes");
  EXPECT_EQ(r->header("content-type").value_or(""), "text/plain");
  EXPECT_GE(r->elapsed.count(), 0);
}

TEST(CurlHttpClient, NonSuccessStatusIsAResponseNotAnError) {
  TestServer server;
  CurlHttpClient client;
  auto r = client.send_sync(get(server.url("/echo?status=503")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after").value_or(""), "7");
}

TEST(CurlHttpClient, PostAndPutSendBodyHeadersAndMultipart) {
  TestServer server;
  CurlHttpClient client;
  HttpRequest post = get(server.url("/echo"));
  post.method = "POST";
  post.add_header("X-Test", "abc");
  post.set_body("{\"a\":1}", "application/json");
  auto r = client.send_sync(post);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "POST\napplication/json\nabc\n{\"a\":1}");

  HttpRequest put = get(server.url("/echo"));
  put.method = "PUT";
  put.set_body(std::string("\x00\x01raw", 5), "audio/wav");
  r = client.send_sync(put);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "PUT\naudio/wav\n\n" + std::string("\x00\x01raw", 5));

  HttpRequest form = get(server.url("/echo"));
  form.method = "POST";
  form.set_multipart({{"file", "RIFFdata", "a.wav", "audio/wav"}, {"model", "m1", "", ""}});
  r = client.send_sync(form);
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("file=RIFFdata;a.wav"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("model=m1;"), std::string::npos) << r->body;
}

// A body read from a file as it is sent: head, the file's range, tail, in order, byte for
// byte, for POST and PUT and across a body larger than curl's buffer; a file that is gone or
// shorter than its stated length fails the request as unavailable.
TEST(CurlHttpClient, AFileBodyIsSentFromTheFileAsItIsRead) {
  TestServer server;
  CurlHttpClient client;
  const auto dir = std::filesystem::temp_directory_path() / ("earshot-file-body-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "recording.bin").string();
  std::string content;
  for (int i = 0; i < 300'000; ++i) content.push_back(static_cast<char>(i * 7 % 251));
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  for (const char* method : {"POST", "PUT"}) {
    HttpRequest r = get(server.url("/echo"));
    r.method = method;
    r.add_header("Content-Type", "audio/wav");
    r.file_body = std::make_shared<const FileBody>(
        FileBody{.path = path, .offset = 1000, .length = 250'000, .head = "HEAD|", .tail = "|TAIL"});
    auto got = client.send_sync(r);
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_EQ(got->body, std::string(method) + "\naudio/wav\n\nHEAD|" + content.substr(1000, 250'000) + "|TAIL");
  }
  HttpRequest shorter = get(server.url("/echo"));
  shorter.method = "POST";
  shorter.file_body = std::make_shared<const FileBody>(FileBody{.path = path, .length = content.size() + 10});
  auto cut = client.send_sync(shorter);
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(cut.error().message.find("ended before its length"), std::string::npos) << cut.error().message;

  HttpRequest gone = get(server.url("/echo"));
  gone.method = "POST";
  gone.file_body = std::make_shared<const FileBody>(FileBody{.path = (dir / "missing.bin").string(), .length = 10});
  const int hits = server.hits_.load();
  auto missing = client.send_sync(gone);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(missing.error().message.find("cannot open the body's file"), std::string::npos) << missing.error().message;
  EXPECT_EQ(server.hits_.load(), hits);  // never sent
  std::filesystem::remove_all(dir);
}

TEST(CurlHttpClient, TwoHundredParallelSlowRequestsTakeAboutOneLatency) {
  TestServer server(300);
  CurlHttpClient client;
  constexpr int kRequests = 200;
  const auto latency = 1000ms;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  const auto start = Steady::now();
  for (int i = 0; i < kRequests; ++i) {
    client.send(get(server.url("/slow?ms=1000")), [&](Result<HttpResponse> r) {
      if (r && r->status == 200) ++ok;
      ++done;
    });
  }
  ASSERT_TRUE(testing::wait_until([&] { return done.load() == kRequests; }, 10s * testing::kTimingSlack, 5ms));
  const auto wall = Steady::now() - start;
  EXPECT_EQ(ok.load(), kRequests);
  EXPECT_EQ(server.peak_.load(), kRequests);  // all held open at once, one loop thread
  // Serialised, 200 requests would take 200 s; in parallel about one latency.
  EXPECT_LT(wall, latency * 19 / 10 * testing::kTimingSlack)
      << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count();
}

TEST(CurlHttpClient, PerHostCapBoundsConcurrency) {
  TestServer server;
  CurlHttpClientOptions options;
  options.max_connections_per_host = 4;
  CurlHttpClient client(options);
  std::atomic<int> done{0};
  for (int i = 0; i < 12; ++i) {
    client.send(get(server.url("/slow?ms=100")), [&](Result<HttpResponse> r) {
      EXPECT_TRUE(r);
      ++done;
    });
  }
  ASSERT_TRUE(testing::wait_until([&] { return done.load() == 12; }, 10s, 5ms));
  EXPECT_LE(server.peak_.load(), 4);
}

TEST(CurlHttpClient, DeadlineIsHonoured) {
  TestServer server;
  CurlHttpClient client;
  auto req = get(server.url("/slow?ms=5000"));
  req.timeout = 300ms;
  const auto start = Steady::now();
  auto r = client.send_sync(req);
  const auto wall = Steady::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().to_string();
  EXPECT_GE(wall, 290ms);
  EXPECT_LT(wall, 1500ms);
}

TEST(CurlHttpClient, ConnectionRefusedIsUnavailable) {
  CurlHttpClient client;
  // A port bound (so no one else gets it) but not listening: connecting is refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  auto r = client.send_sync(get("http://127.0.0.1:" + std::to_string(port) + "/x"));
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
}

TEST(CurlHttpClient, BadUrlIsInvalidArgument) {
  CurlHttpClient client;
  auto r = client.send_sync(get("ftp://127.0.0.1/file"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().to_string();
}

TEST(CurlHttpClient, ResponseOverTheCapIsInvalidArgument) {
  TestServer server;
  CurlHttpClient client;
  auto req = get(server.url("/big?bytes=100000"));
  req.max_response_bytes = 1000;
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().to_string();

  auto chunked = get(server.url("/chunked-big?bytes=100000"));
  chunked.max_response_bytes = 1000;
  r = client.send_sync(chunked);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().to_string();

  auto fits = get(server.url("/big?bytes=1000"));
  fits.max_response_bytes = 1000;
  r = client.send_sync(fits);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), 1000U);
}

TEST(CurlHttpClient, OnBodyPassesEachPieceAsItArrivesAndTheBodyStillAccumulates) {
  TestServer server;
  CurlHttpClient client;
  std::mutex mu;
  std::vector<std::pair<int, std::string>> pieces;  // (status, piece), loop thread then test
  auto req = get(server.url("/trickle"));
  req.on_body = [&](int status, std::string_view piece) {
    {
      std::lock_guard lock(mu);
      pieces.emplace_back(status, std::string(piece));
    }
    if (piece.find("one") != std::string_view::npos) server.first_piece_seen();
  };
  std::promise<Result<HttpResponse>> done;
  std::atomic<std::size_t> pieces_at_done{0};
  client.send(req, [&](Result<HttpResponse> r) {
    {
      std::lock_guard lock(mu);
      pieces_at_done = pieces.size();
    }
    done.set_value(std::move(r));
  });
  auto r = done.get_future().get();
  ASSERT_TRUE(r) << r.error().to_string();
  // The server sent the second piece only because the first had reached on_body.
  EXPECT_TRUE(server.released_by_client());
  EXPECT_EQ(r->body, "data: one\n\ndata: two\n\n");
  std::lock_guard lock(mu);
  std::string joined;
  for (const auto& [status, piece] : pieces) {
    EXPECT_EQ(status, 200);
    EXPECT_FALSE(piece.empty());
    joined += piece;
  }
  EXPECT_EQ(joined, r->body);
  EXPECT_GE(pieces.size(), 2U);
  EXPECT_EQ(pieces_at_done.load(), pieces.size());  // every piece before the callback
}

TEST(CurlHttpClient, OnBodySeesTheStatusOfAnErrorBody) {
  TestServer server;
  CurlHttpClient client;
  std::vector<int> statuses;
  std::string seen;
  auto req = get(server.url("/echo?status=503"));
  req.on_body = [&](int status, std::string_view piece) {
    statuses.push_back(status);
    seen += piece;
  };
  auto r = client.send_sync(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.front(), 503);
  EXPECT_EQ(seen, r->body);
}

TEST(CurlHttpClient, OnBodyKeepsTheResponseSizeLimit) {
  TestServer server;
  CurlHttpClient client;
  std::size_t passed = 0;
  auto req = get(server.url("/chunked-big?bytes=100000"));
  req.max_response_bytes = 50000;  // libcurl passes at most 16 KiB at a time
  req.on_body = [&](int, std::string_view piece) { passed += piece.size(); };
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().to_string();
  EXPECT_GT(passed, 0U);
  EXPECT_LE(passed, 50000U);
}

TEST(CurlHttpClient, AddressPolicyRefusesLoopbackUnlessAllowed) {
  TestServer server;
  CurlHttpClient client;
  auto req = get(server.url("/echo"));
  req.address_policy = AddressPolicy{};
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().to_string();
  // A name is judged by the address it resolves to, not by its spelling.
  auto by_name = get("http://localhost:" + std::to_string(server.port()) + "/echo");
  by_name.address_policy = AddressPolicy{};
  r = client.send_sync(by_name);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().to_string();
  EXPECT_EQ(server.hits_.load(), 0);

  AddressPolicy allow;
  allow.allow_loopback = true;
  req.address_policy = allow;
  r = client.send_sync(req);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.hits_.load(), 1);
}

TEST(CurlHttpClient, EveryRedirectHopIsCheckedAgainstThePolicy) {
  TestServer server;
  CurlHttpClient client;
  AddressPolicy policy;
  policy.allow_loopback = true;  // the first hop is allowed...
  auto req = get(server.url("/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F"));
  req.follow_redirects = true;
  req.address_policy = policy;
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);  // ...the metadata address it redirects to is not (refused before connecting)
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().to_string();
  EXPECT_NE(r.error().message.find("metadata"), std::string::npos);

  auto ok = get(server.url("/redirect?to=%2Fhello"));
  ok.follow_redirects = true;
  ok.address_policy = policy;
  auto followed = client.send_sync(ok);
  ASSERT_TRUE(followed) << followed.error().to_string();
  EXPECT_EQ(followed->body, "hi");
}

TEST(CurlHttpClient, SendsFromManyThreadsAtOnce) {
  TestServer server(300);
  CurlHttpClient client;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        client.send(get(server.url("/hello")), [&](Result<HttpResponse> r) {
          if (r && r->body == "hi") ++ok;
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(testing::wait_until([&] { return ok.load() == 400; }, 10s, 5ms)) << ok.load();
  EXPECT_TRUE(testing::wait_until([&] { return client.in_flight() == 0; }, 2s, 5ms));
}

TEST(CurlHttpClient, PooledConnectionIsNotReusedPastThePolicy) {
  TestServer server;
  CurlHttpClient client;
  ASSERT_TRUE(client.send_sync(get(server.url("/echo"))));  // leaves a pooled connection
  auto req = get(server.url("/echo"));
  req.address_policy = AddressPolicy{};
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(server.hits_.load(), 1);
}

TEST(CurlHttpClient, RequestsUnderAPolicyKeepTheirConnectionAliveAndEachReuseIsChecked) {
  TestServer server;
  CurlHttpClient client;
  auto req = get(server.url("/peer"));
  req.address_policy = AddressPolicy::allow_all();
  auto first = client.send_sync(req);
  ASSERT_TRUE(first) << first.error().to_string();
  auto second = client.send_sync(req);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(first->body, second->body) << "the second request went out on the first one's connection";
  // That pooled connection leads to a loopback peer: a request whose policy refuses loopback
  // is stopped before anything is sent on it.
  const int hits = server.hits_.load();
  auto strict = get(server.url("/peer"));
  strict.address_policy = AddressPolicy{};
  auto refused = client.send_sync(strict);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("by the address policy"), std::string::npos) << refused.error().message;
  EXPECT_EQ(server.hits_.load(), hits);
}

TEST(CurlHttpClient, CallbackMaySendTheNextRequestAndTimersRunInOrder) {
  TestServer server;
  CurlHttpClient client;
  std::promise<std::string> result;
  client.send(get(server.url("/hello")), [&](Result<HttpResponse> first) {
    client.send(get(server.url("/hello")),
                [&, body = first->body](Result<HttpResponse> second) { result.set_value(body + second->body); });
  });
  EXPECT_EQ(result.get_future().get(), "hihi");

  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> fired{0};
  const auto start = Steady::now();
  Steady::duration first_at{};
  client.post_after(120ms, [&] {
    std::lock_guard lock(mu);
    order.push_back(2);
    ++fired;
  });
  client.post_after(40ms, [&] {
    std::lock_guard lock(mu);
    order.push_back(1);
    first_at = Steady::now() - start;
    ++fired;
  });
  ASSERT_TRUE(testing::wait_until([&] { return fired.load() == 2; }, 5s, 5ms));
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(first_at, 40ms);
}

TEST(CurlHttpClient, ACancelledRequestIsAbortedAtOnceAndTheServerSeesItsConnectionClose) {
  TestServer server;
  CurlHttpClient client;
  auto cancel = std::make_shared<CancelSignal>();
  auto req = get(server.url("/drip?pieces=200&ms=50"));  // 10 s to the end
  req.timeout = 30s;
  req.cancel = cancel;
  std::atomic<int> pieces{0};
  req.on_body = [&](int, std::string_view) { ++pieces; };
  std::promise<Result<HttpResponse>> done;
  client.send(std::move(req), [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(testing::wait_until([&] { return pieces.load() >= 2; }, 5s, 5ms));
  cancel->cancel();
  auto fut = done.get_future();
  ASSERT_EQ(fut.wait_for(2s * testing::kTimingSlack), std::future_status::ready);  // not the 10 s of the body
  auto r = fut.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "cancelled");
  // The server's next writes fail: it stops long before its 10 s.
  EXPECT_TRUE(testing::wait_until([&] { return server.drips_cut_.load() == 1; }, 3s, 5ms));
  EXPECT_LT(pieces.load(), 100);
  EXPECT_EQ(client.in_flight(), 0u);
  // The client goes on serving.
  auto next = client.send_sync(get(server.url("/hello")));
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->body, "hi");
}

TEST(CurlHttpClient, ARequestCancelledBeforeItStartsIsNeverSent) {
  TestServer server;
  CurlHttpClient client;
  auto cancel = std::make_shared<CancelSignal>();
  cancel->cancel();
  auto req = get(server.url("/drip?pieces=1&ms=0"));
  req.cancel = cancel;
  auto r = client.send_sync(std::move(req));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cancelled");
  EXPECT_EQ(server.hits_.load(), 0);
  // A signal fired after its request completed changes nothing (its hook was removed).
  auto later = std::make_shared<CancelSignal>();
  auto ok = get(server.url("/hello"));
  ok.cancel = later;
  ASSERT_TRUE(client.send_sync(std::move(ok)));
  later->cancel();
  EXPECT_TRUE(later->cancelled());
}

TEST(CurlHttpClient, ShutdownCompletesPendingTransfersAsUnavailable) {
  TestServer server;
  std::promise<Error> failed;
  std::atomic<bool> timer_ran{false};
  {
    CurlHttpClient client;
    client.send(get(server.url("/slow?ms=10000")),
                [&](Result<HttpResponse> r) { failed.set_value(r ? Error() : r.error()); });
    client.post_after(1h, [&] { timer_ran = true; });
    ASSERT_TRUE(testing::wait_until([&] { return server.peak_.load() == 1; }, 5s, 5ms));
    const auto start = Steady::now();
    client.shutdown();
    EXPECT_LT(Steady::now() - start, 2s);
    EXPECT_TRUE(client.shutting_down());
    // After shutdown a send completes at once, on the caller's thread.
    bool late = false;
    client.send(get(server.url("/hello")),
                [&](Result<HttpResponse> r) { late = !r && r.error().code == ErrorCode::kUnavailable; });
    EXPECT_TRUE(late);
  }
  auto e = failed.get_future().get();
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.message, "shutting down");
  EXPECT_TRUE(timer_ran.load());
}

}  // namespace
}  // namespace earshot::http

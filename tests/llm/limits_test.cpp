// Concurrency and rate limits in front of a chat provider, against the OpenAI-compatible fake.
#include "earshot/llm/limits.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/http/curl_http_client.hpp"
#include "fakes/llm/fake_llm.hpp"

namespace earshot::llm {
namespace {

using namespace std::chrono_literals;

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake.start());
    ChatEndpoint ep;
    ep.base_url = fake.base_url();
    ep.model = "m";
    provider = std::make_unique<OpenAiChatProvider>(OpenAiConfig{ep, "test-key"}, client, SystemClock::instance());
  }
  std::vector<Result<ChatResponse>> run_many(ChatProvider& p, int n) {
    std::vector<std::promise<Result<ChatResponse>>> done(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      p.complete(ChatRequest{"", {{"user", "hi"}}, "", 10, 0, nullptr, {}},
                 [&done, i](Result<ChatResponse> r) { done[static_cast<std::size_t>(i)].set_value(std::move(r)); });
    }
    std::vector<Result<ChatResponse>> out;
    out.reserve(done.size());
    for (auto& d : done) out.push_back(d.get_future().get());
    return out;
  }

  testing::FakeOpenAiChat fake;
  http::CurlHttpClient client;
  std::unique_ptr<OpenAiChatProvider> provider;
};

TEST_F(LimitsTest, AtMostMaxInFlight) {
  fake.set_latency(100ms);
  LimitedChatProvider limited(*provider, {3, 0, 1, 100}, client, SystemClock::instance());
  for (const auto& r : run_many(limited, 12)) EXPECT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(fake.max_concurrent(), 3);
  EXPECT_EQ(limited.in_flight(), 0);
  EXPECT_EQ(limited.queued(), 0U);
}

// Records when the limiter lets each request through to the provider behind it.
class StartRecorder final : public ChatProvider {
 public:
  explicit StartRecorder(ChatProvider& inner) : inner_(inner) {}
  void complete(ChatRequest request, ChatCallback done) override {
    {
      std::lock_guard lock(mu_);
      starts_.push_back(std::chrono::steady_clock::now());
    }
    inner_.complete(std::move(request), std::move(done));
  }
  [[nodiscard]] std::string id() const override { return inner_.id(); }
  std::vector<std::chrono::steady_clock::time_point> starts() {
    std::lock_guard lock(mu_);
    return starts_;
  }

 private:
  ChatProvider& inner_;
  std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> starts_;
};

TEST_F(LimitsTest, TokenBucketSpacesRequests) {
  StartRecorder recorder(*provider);
  LimitedChatProvider limited(recorder, {100, 20, 1, 100}, client, SystemClock::instance());
  for (const auto& r : run_many(limited, 6)) EXPECT_TRUE(r);
  EXPECT_EQ(fake.requests().size(), 6U);
  // One token at once, then one every 50 ms: the sixth goes through about 250 ms after the
  // first (a timer never fires early; unlimited, all six would start within microseconds).
  const auto starts = recorder.starts();
  ASSERT_EQ(starts.size(), 6U);
  EXPECT_GE(starts[5] - starts[0], 240ms);
}

TEST_F(LimitsTest, FullQueueIsRateLimited) {
  fake.set_latency(200ms);
  LimitedChatProvider limited(*provider, {1, 0, 1, 1}, client, SystemClock::instance());
  const auto results = run_many(limited, 3);  // one in flight, one queued, one refused
  int refused = 0;
  for (const auto& r : results) {
    if (!r) {
      ++refused;
      EXPECT_EQ(r.error().code, ErrorCode::kRateLimited);
    }
  }
  EXPECT_EQ(refused, 1);
}

TEST_F(LimitsTest, StreamsGoThroughTheSameCapAndReachTheInnerStream) {
  fake.set_latency(100ms);  // before each answer starts streaming
  fake.set_reply("one two three four");
  LimitedChatProvider limited(*provider, {2, 0, 1, 100}, client, SystemClock::instance());
  constexpr int kStreams = 6;
  struct Outcome {
    std::mutex mu;
    std::vector<std::string> pieces;
    std::promise<Result<ChatResponse>> done;
  };
  std::vector<Outcome> outcomes(kStreams);
  for (auto& o : outcomes) {
    limited.stream(
        ChatRequest{"", {{"user", "hi"}}, "", 10, 0, nullptr, {}},
        [&o](std::string_view piece) {
          std::lock_guard lock(o.mu);
          o.pieces.emplace_back(piece);
        },
        [&o](Result<ChatResponse> r) { o.done.set_value(std::move(r)); });
  }
  for (auto& o : outcomes) {
    auto r = o.done.get_future().get();
    ASSERT_TRUE(r) << r.error().to_string();
    std::lock_guard lock(o.mu);
    EXPECT_EQ(o.pieces, (std::vector<std::string>{"one", " two", " three", " four"}));
    EXPECT_EQ(r->text, "one two three four");
  }
  EXPECT_EQ(fake.streamed_count(), kStreams);
  EXPECT_EQ(fake.max_concurrent(), 2);
  EXPECT_EQ(limited.in_flight(), 0);
}

}  // namespace
}  // namespace earshot::llm

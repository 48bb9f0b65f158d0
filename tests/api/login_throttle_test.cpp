// Failed-login throttling with an injected clock and the in-memory counter store.
#include "earshot/api/login_throttle.hpp"

#include <gtest/gtest.h>

#include "fakes/api/login_failure_store.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::api {
namespace {

using namespace std::chrono_literals;

struct Throttled {
  testing::FakeClock clock;
  InMemoryLoginFailureStore store;
  LoginThrottle throttle{store, clock,
                         LoginThrottlePolicy{.free_failures = 3,
                                             .address_free_failures = 6,
                                             .base = 1000ms,
                                             .account_max = 8000ms,
                                             .address_max = 3'600'000ms,
                                             .forget_after = 7'200'000ms}};
  // The Retry-After of a refused attempt, or 0 when it may try now.
  std::chrono::milliseconds wait(std::string_view email, std::string_view addr) {
    auto st = throttle.check(email, addr);
    if (st) return 0ms;
    EXPECT_EQ(st.error().code, ErrorCode::kRateLimited);
    return st.error().retry_after.value_or(0ms);
  }
};

TEST(LoginThrottle, DelayGrowsExponentiallyAfterTheFreeFailuresAndIsCapped) {
  Throttled t;
  const auto& th = t.throttle;
  EXPECT_EQ(th.delay(2, 3, 8000ms), 0ms);
  EXPECT_EQ(th.delay(3, 3, 8000ms), 1000ms);
  EXPECT_EQ(th.delay(4, 3, 8000ms), 2000ms);
  EXPECT_EQ(th.delay(5, 3, 8000ms), 4000ms);
  EXPECT_EQ(th.delay(6, 3, 8000ms), 8000ms);
  EXPECT_EQ(th.delay(7, 3, 8000ms), 8000ms);
  EXPECT_EQ(th.delay(50, 3, 8000ms), 8000ms);
  EXPECT_EQ(th.delay(1000, 3, 8000ms), 8000ms);  // no overflow
}

TEST(LoginThrottle, AnAccountWaitsLongerAfterEachFailureAndASuccessResetsIt) {
  Throttled t;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.wait("ana@x.test", "10.0.0.1"), 0ms);
    t.throttle.failed("ana@x.test", "10.0.0.1");
  }
  std::vector<std::chrono::milliseconds> waits;
  for (int i = 0; i < 4; ++i) {
    const auto w = t.wait("ana@x.test", "10.0.0.2");  // another address: the account still waits
    EXPECT_GT(w, 0ms);
    waits.push_back(w);
    t.clock.advance(w);
    EXPECT_EQ(t.wait("ana@x.test", "10.0.0.2"), 0ms);
    t.throttle.failed("ana@x.test", "10.0.0.2");
  }
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{1000ms, 2000ms, 4000ms, 8000ms}));
  // The e-mail's case does not make a new account.
  EXPECT_EQ(t.wait("ANA@x.test", "10.0.0.3"), 8000ms);
  t.clock.advance(8000ms);
  t.throttle.succeeded("ana@x.test");
  EXPECT_EQ(t.wait("ana@x.test", "10.0.0.3"), 0ms);
  t.throttle.failed("ana@x.test", "10.0.0.3");
  EXPECT_EQ(t.wait("ana@x.test", "10.0.0.3"), 0ms);  // counting starts over
}

TEST(LoginThrottle, OneAddressCannotLockAUserOutForLongButItselfWaitsUpToAnHour) {
  Throttled t;
  // The attacker tries ten passwords of ana's account from one address...
  for (int i = 0; i < 10; ++i) {
    t.clock.advance(t.wait("ana@x.test", "6.6.6.6"));
    t.throttle.failed("ana@x.test", "6.6.6.6");
  }
  // ...ana, from her own address, waits at most the account cap, then may log in.
  const auto w = t.wait("ana@x.test", "10.0.0.9");
  EXPECT_GT(w, 0ms);
  EXPECT_LE(w, 8000ms);
  t.clock.advance(w);
  EXPECT_EQ(t.wait("ana@x.test", "10.0.0.9"), 0ms);
  // Twenty more tries (other accounts): the attacker's address now waits its cap of an hour.
  for (int i = 0; i < 20; ++i) {
    t.clock.advance(t.wait("u@x.test", "6.6.6.6"));
    t.throttle.failed("u" + std::to_string(i) + "@x.test", "6.6.6.6");
  }
  EXPECT_EQ(t.wait("bob@x.test", "6.6.6.6"), 3'600'000ms);
  // Nobody else is affected.
  EXPECT_EQ(t.wait("carol@x.test", "10.0.0.9"), 0ms);
}

TEST(LoginThrottle, CountersAreForgottenAfterAQuietPeriod) {
  Throttled t;
  for (int i = 0; i < 6; ++i) {
    t.clock.advance(t.wait("dan@x.test", "10.0.0.1"));
    t.throttle.failed("dan@x.test", "10.0.0.1");
  }
  EXPECT_GT(t.wait("dan@x.test", "10.0.0.1"), 0ms);
  t.clock.advance(7'200'001ms);
  t.throttle.failed("dan@x.test", "10.0.0.1");  // the old count expired: this is the first again
  EXPECT_EQ(t.wait("dan@x.test", "10.0.0.1"), 0ms);
}

}  // namespace
}  // namespace earshot::api

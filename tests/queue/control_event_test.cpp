#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "earshot/queue/control.hpp"
#include "earshot/queue/schema.hpp"
#include "fakes/queue/business_directory.hpp"

namespace earshot::queue {
namespace {

TEST(ControlEvent, RoundTripsAndMatchesItsSchema) {
  for (auto type : {BusinessEventType::kRegistered, BusinessEventType::kEnabled, BusinessEventType::kDisabled}) {
    BusinessEvent e{.type = type, .bid = "acme", .at = std::chrono::system_clock::now()};
    const std::string json = e.to_json();
    EXPECT_TRUE(validate_control_body(json)) << json;
    auto back = BusinessEvent::parse(json);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->type, type);
    EXPECT_EQ(back->bid, "acme");
  }
}

TEST(ControlEvent, RejectsGarbage) {
  EXPECT_FALSE(BusinessEvent::parse("not json"));
  EXPECT_FALSE(BusinessEvent::parse(R"({"schema_version":1,"type":"business_paused","bid":"a"})"));
  EXPECT_FALSE(BusinessEvent::parse(R"({"schema_version":2,"type":"business_enabled","bid":"a"})"));
  EXPECT_FALSE(BusinessEvent::parse(R"({"schema_version":1,"type":"business_enabled"})"));
}

TEST(ControlEvent, MessageGoesToTheControlExchangeUnmandatory) {
  TopologySettings topo;
  auto m = make_business_event_message(topo, {.type = BusinessEventType::kEnabled, .bid = "b"});
  EXPECT_EQ(m.exchange, "earshot.control");
  EXPECT_FALSE(m.mandatory);
}

TEST(BusinessDirectory, InMemoryListsEnabledOnes) {
  InMemoryBusinessDirectory d;
  d.enable("a");
  d.enable("b");
  d.disable("a");
  auto list = d.enabled_businesses();
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, std::vector<std::string>{"b"});
  d.set_unavailable(true);
  EXPECT_FALSE(d.enabled_businesses());
}

TEST(ControlEvent, RefusesATimeOutsideTheYearsItCanHold) {
  // Found by fuzzing (tests/fuzz/queue_messages.cpp): year 1012 overflowed the conversion to
  // system_clock's nanoseconds (UBSan).
  auto body = [](const char* at) {
    return std::string(R"({"schema_version":1,"type":"business_enabled","bid":"acme","at":")") + at + "\"}";
  };
  for (const char* at :
       {"1012-05-01T00:00:00Z", "1969-12-31T23:59:59Z", "2201-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"}) {
    auto e = BusinessEvent::parse(body(at));
    ASSERT_FALSE(e) << at;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error().message.find("$.at"), std::string::npos) << e.error().message;
  }
  auto first = BusinessEvent::parse(body("1970-01-01T00:00:00Z"));
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->at, std::chrono::system_clock::time_point{});
  EXPECT_TRUE(BusinessEvent::parse(body("2200-12-31T23:59:59.999Z")));
}

}  // namespace
}  // namespace earshot::queue

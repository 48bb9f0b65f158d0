#include <gtest/gtest.h>

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

}  // namespace
}  // namespace earshot::queue

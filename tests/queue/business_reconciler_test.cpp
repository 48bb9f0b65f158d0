// Which businesses a stage worker consumes, decided without a broker: the pure plans, and
// the reconciler's passes driven with chosen times against an in-memory directory.
#include "business_reconciler.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "fakes/queue/business_directory.hpp"

namespace earshot::queue::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Strings = std::vector<std::string>;

// Records what the reconciler asks for, as "declare acme", "consume acme", ...
class RecordingActions final : public ReconcilerActions {
 public:
  Status declare(const std::string& bid) override {
    calls.push_back("declare " + bid);
    if (refuse.contains(bid)) return make_error(ErrorCode::kUnavailable, "broker down");
    return {};
  }
  void consume(const std::string& bid) override { calls.push_back("consume " + bid); }
  void cancel(const std::string& bid) override { calls.push_back("cancel " + bid); }
  void measure_depth(const std::string& bid) override { calls.push_back("depth " + bid); }

  Strings take() { return std::exchange(calls, {}); }

  Strings calls;
  std::set<std::string> refuse;
};

BusinessEvent event(const std::string& bid, BusinessEventType type) {
  BusinessEvent e;
  e.bid = bid;
  e.type = type;
  return e;
}

const ReconcilerOptions kOptions{.reconcile_interval = seconds(10), .depth_interval = seconds(15)};
const BusinessReconciler::TimePoint kStart{std::chrono::hours(1)};

TEST(BusinessReconciler, PlanStartsTheListedAndStopsTheUnlisted) {
  const auto plan = plan_reconcile({"acme", "globex"}, {"initech", "acme", "initech"});
  EXPECT_EQ(plan.start, (Strings{"initech"}));
  EXPECT_EQ(plan.stop, (Strings{"globex"}));
  const auto same = plan_reconcile({"acme"}, {"acme"});
  EXPECT_TRUE(same.start.empty());
  EXPECT_TRUE(same.stop.empty());
}

TEST(BusinessReconciler, EventsFollowTheDirectoryAndOnlyWithoutItTheEvent) {
  const std::vector<BusinessEvent> events{event("acme", BusinessEventType::kDisabled),
                                          event("globex", BusinessEventType::kEnabled)};
  // The directory answered: it decides, whatever the events say.
  auto listed = wanted_by_events(events, Strings{"acme"});
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_TRUE(listed[0].consume);
  EXPECT_FALSE(listed[1].consume);
  // The directory could not answer: each event decides.
  auto unlisted = wanted_by_events(events, std::nullopt);
  EXPECT_FALSE(unlisted[0].consume);
  EXPECT_TRUE(unlisted[1].consume);
}

TEST(BusinessReconciler, ReconcilesAtStartAndEveryIntervalAgainstTheDirectory) {
  InMemoryBusinessDirectory directory;
  directory.enable("acme");
  directory.enable("globex");
  RecordingActions actions;
  BusinessReconciler reconciler(directory, actions, kOptions);

  EXPECT_EQ(reconciler.step(kStart), kStart + seconds(10));
  EXPECT_EQ(actions.take(), (Strings{"declare acme", "consume acme", "declare globex", "consume globex"}));

  directory.disable("acme");
  directory.enable("initech");
  EXPECT_EQ(reconciler.step(kStart + seconds(9)), kStart + seconds(10));
  EXPECT_TRUE(actions.take().empty());  // not due yet

  EXPECT_EQ(reconciler.step(kStart + seconds(10)), kStart + seconds(15));
  EXPECT_EQ(actions.take(), (Strings{"declare initech", "consume initech", "cancel acme"}));
  EXPECT_EQ(reconciler.consumed(), (std::set<std::string>{"globex", "initech"}));

  // The depth pass measures what is consumed.
  EXPECT_EQ(reconciler.step(kStart + seconds(15)), kStart + seconds(20));
  EXPECT_EQ(actions.take(), (Strings{"depth globex", "depth initech"}));
}

TEST(BusinessReconciler, AStaleEventCannotStopABusinessTheDirectoryLists) {
  InMemoryBusinessDirectory directory;
  directory.enable("acme");
  RecordingActions actions;
  BusinessReconciler reconciler(directory, actions, kOptions);
  reconciler.step(kStart);
  actions.take();

  reconciler.on_event(event("acme", BusinessEventType::kDisabled));
  reconciler.step(kStart + seconds(1));
  EXPECT_TRUE(actions.take().empty());

  // Without the directory the event decides.
  directory.set_unavailable(true);
  reconciler.on_event(event("acme", BusinessEventType::kDisabled));
  reconciler.on_event(event("globex", BusinessEventType::kEnabled));
  reconciler.step(kStart + seconds(2));
  EXPECT_EQ(actions.take(), (Strings{"cancel acme", "declare globex", "consume globex"}));
}

TEST(BusinessReconciler, ALostConsumerIsStartedAgainWithinASecond) {
  InMemoryBusinessDirectory directory;
  directory.enable("acme");
  RecordingActions actions;
  BusinessReconciler reconciler(directory, actions, kOptions);
  reconciler.step(kStart);
  actions.take();

  reconciler.on_lost("acme");
  EXPECT_EQ(reconciler.step(kStart + seconds(2)), kStart + seconds(3));
  EXPECT_TRUE(actions.take().empty());
  EXPECT_TRUE(reconciler.consumed().empty());
  reconciler.step(kStart + seconds(3));
  EXPECT_EQ(actions.take(), (Strings{"declare acme", "consume acme"}));
}

TEST(BusinessReconciler, AFailedDeclarationIsTriedAgainAndInvalidIdsAreIgnored) {
  InMemoryBusinessDirectory directory;
  directory.enable("acme");
  directory.enable("Not A Bid!");
  RecordingActions actions;
  actions.refuse.insert("acme");
  BusinessReconciler reconciler(directory, actions, kOptions);
  reconciler.step(kStart);
  EXPECT_EQ(actions.take(), (Strings{"declare acme"}));  // refused: not consumed
  EXPECT_TRUE(reconciler.consumed().empty());

  actions.refuse.clear();
  reconciler.step(kStart + seconds(10));
  EXPECT_EQ(actions.take(), (Strings{"declare acme", "consume acme"}));

  // A refused retry / dead-letter copy: the business's queues are declared again.
  reconciler.on_copy_failed("acme");
  reconciler.on_copy_failed("globex");  // not consumed: nothing to declare
  reconciler.step(kStart + seconds(11));
  EXPECT_EQ(actions.take(), (Strings{"declare acme"}));
}

TEST(BusinessReconciler, NothingChangesOnceIntakeStopped) {
  InMemoryBusinessDirectory directory;
  directory.enable("acme");
  RecordingActions actions;
  BusinessReconciler reconciler(directory, actions, kOptions);
  reconciler.step(kStart);
  actions.take();

  reconciler.stop_intake();
  directory.disable("acme");
  reconciler.on_event(event("globex", BusinessEventType::kEnabled));
  EXPECT_EQ(reconciler.step(kStart + seconds(60)), kStart + seconds(60) + std::chrono::hours(24));
  EXPECT_TRUE(actions.take().empty());
}

}  // namespace
}  // namespace earshot::queue::detail

#include "business_reconciler.hpp"

#include <algorithm>

#include "earshot/core/log.hpp"
#include "earshot/queue/message.hpp"

namespace earshot::queue::detail {

ReconcilePlan plan_reconcile(const std::set<std::string>& consumed, const std::vector<std::string>& listed) {
  const std::set<std::string> want(listed.begin(), listed.end());
  ReconcilePlan plan;
  std::ranges::set_difference(want, consumed, std::back_inserter(plan.start));
  std::ranges::set_difference(consumed, want, std::back_inserter(plan.stop));
  return plan;
}

std::vector<Wanted> wanted_by_events(const std::vector<BusinessEvent>& events,
                                     const std::optional<std::vector<std::string>>& listed) {
  std::set<std::string> enabled;
  if (listed) enabled.insert(listed->begin(), listed->end());
  std::vector<Wanted> out;
  out.reserve(events.size());
  for (const auto& ev : events) {
    const bool consume = listed ? enabled.contains(ev.bid) : ev.type != BusinessEventType::kDisabled;
    out.push_back(Wanted{.bid = ev.bid, .consume = consume});
  }
  return out;
}

BusinessReconciler::BusinessReconciler(BusinessDirectory& directory, ReconcilerActions& actions,
                                       ReconcilerOptions options)
    : directory_(directory), actions_(actions), opt_(options) {}

BusinessReconciler::~BusinessReconciler() {
  stop();
}

void BusinessReconciler::on_event(BusinessEvent event) {
  {
    std::lock_guard l(mu_);
    events_.push_back(std::move(event));
  }
  cv_.notify_all();
}

void BusinessReconciler::on_lost(const std::string& bid) {
  {
    std::lock_guard l(mu_);
    lost_.insert(bid);
  }
  cv_.notify_all();
}

void BusinessReconciler::on_copy_failed(const std::string& bid) {
  std::lock_guard l(mu_);
  redeclare_.insert(bid);  // not urgent: the next pass declares again
}

void BusinessReconciler::stop_intake() {
  std::lock_guard l(mu_);
  intake_stopped_ = true;
}

void BusinessReconciler::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard l(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void BusinessReconciler::stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BusinessReconciler::run() {
  auto wake = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock l(mu_);
      cv_.wait_until(l, wake, [&] { return stopping_ || !events_.empty() || !lost_.empty(); });
      if (stopping_) return;
    }
    wake = step(std::chrono::steady_clock::now());
  }
}

BusinessReconciler::TimePoint BusinessReconciler::step(TimePoint now) {
  if (!next_reconcile_) {
    next_reconcile_ = now;
    next_depth_ = now + opt_.depth_interval;
  }
  std::deque<BusinessEvent> events;
  std::set<std::string> lost;
  std::set<std::string> redeclare;
  {
    std::lock_guard l(mu_);
    events.swap(events_);
    lost.swap(lost_);
    redeclare.swap(redeclare_);
    if (intake_stopped_) return now + std::chrono::hours(24);
  }
  for (const auto& bid : redeclare) {
    if (!consumed_.contains(bid)) continue;
    if (auto st = actions_.declare(bid); !st) {
      log::warn("queue worker cannot declare business queues", {{"bid", bid}, {"error", st.error().to_string()}});
    }
  }
  for (const auto& bid : lost) {
    consumed_.erase(bid);
    next_reconcile_ = std::min(*next_reconcile_, now + std::chrono::seconds(1));
  }
  if (!events.empty()) follow({events.begin(), events.end()});
  if (now >= *next_reconcile_) {
    reconcile();
    next_reconcile_ = now + opt_.reconcile_interval;
  }
  if (now >= next_depth_) {
    for (const auto& bid : consumed_) actions_.measure_depth(bid);
    next_depth_ = now + opt_.depth_interval;
  }
  return std::min(*next_reconcile_, next_depth_);
}

void BusinessReconciler::ensure(const std::string& bid) {
  if (!is_valid_bid(bid)) {
    log::warn("queue worker ignored an invalid business id", {{"bid", bid}});
    return;
  }
  if (consumed_.contains(bid)) return;
  if (auto st = actions_.declare(bid); !st) {
    log::warn("queue worker cannot declare business queues", {{"bid", bid}, {"error", st.error().to_string()}});
    return;
  }
  consumed_.insert(bid);
  actions_.consume(bid);
}

void BusinessReconciler::drop(const std::string& bid) {
  if (!consumed_.erase(bid)) return;
  actions_.cancel(bid);
}

void BusinessReconciler::reconcile() {
  auto listed = directory_.enabled_businesses();
  if (!listed) {
    log::warn("queue worker cannot list businesses", {{"error", listed.error().to_string()}});
    return;
  }
  const auto plan = plan_reconcile(consumed_, *listed);
  for (const auto& bid : plan.start) ensure(bid);
  for (const auto& bid : plan.stop) drop(bid);
}

void BusinessReconciler::follow(const std::vector<BusinessEvent>& events) {
  auto listed = directory_.enabled_businesses();
  std::optional<std::vector<std::string>> answer;
  if (listed) {
    answer = std::move(*listed);
  } else {
    log::warn("queue worker cannot list businesses; following the control event",
              {{"error", listed.error().to_string()}});
  }
  for (const auto& w : wanted_by_events(events, answer)) {
    if (w.consume) {
      ensure(w.bid);
    } else {
      drop(w.bid);
    }
  }
}

}  // namespace earshot::queue::detail

#pragma once
// The stage worker's handler threads: a bounded pool that takes deliveries round-robin
// between businesses with a per-business in-flight cap (FairQueue), and runs follow-up tasks
// (finishing a message whose publish completed, or whose asynchronous job ended) before any
// new delivery. Knows nothing of AMQP or handlers; the worker gives it `run`.
//
// Counting: a delivery is *in flight* from dispatch until its handling ends (run returned
// false, or release() for a job that continues elsewhere); it is *unsettled* from dispatch
// (or adopted()) until settled() reports its ack or reject executed. drain() waits for the
// latter.
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "delivery.hpp"
#include "earshot/queue/fair_queue.hpp"

namespace earshot::queue::detail {

struct HandlerPoolOptions {
  std::size_t threads = 4;                 // at least one
  std::size_t per_business_in_flight = 2;  // FairQueue cap
  std::size_t max_in_flight = 0;           // over every business; 0: bounded by the threads only
};

class HandlerPool {
 public:
  // Handles one delivery on a handler thread. Returns false when its handling ended, true
  // when it continues elsewhere (an asynchronous job): release(bid) then reports its end.
  using Run = std::function<bool(Delivery&)>;

  HandlerPool(HandlerPoolOptions options, Run run);
  ~HandlerPool();  // stop()
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  void start();
  // Joins the threads (a running `run` finishes first). Follow-ups not yet run are dropped,
  // and later ones are ignored.
  void stop();
  // No delivery is dispatched any more; follow-ups still run. Not undone by start().
  void stop_intake();

  void submit(Delivery delivery);
  // Removes the pending (not yet dispatched) deliveries of a channel session.
  [[nodiscard]] std::vector<Delivery> take_pending(std::uint64_t session);
  // Runs `task` on a handler thread, before any delivery not yet dispatched.
  void post(std::function<void()> task);
  // An asynchronous job of `bid` ended (run returned true for it).
  void release(const std::string& bid);
  // A delivery taken over at intake by a running handling (never dispatched): unsettled,
  // like a dispatched one, until its settled().
  void adopted();
  // The ack or reject of a dispatched or adopted delivery was executed (or dropped with its
  // channel).
  void settled();

  // Waits until every dispatched delivery is settled; false when `deadline` passed first.
  bool drain(std::chrono::steady_clock::time_point deadline);
  // Waits `d`, or less if the pool stops meanwhile; true when it stopped.
  bool pause(std::chrono::milliseconds d);

  [[nodiscard]] std::size_t pending(const std::string& bid) const;
  [[nodiscard]] std::size_t in_flight(const std::string& bid) const;

 private:
  void loop();
  void end(const std::string& bid);

  HandlerPoolOptions opt_;
  Run run_;
  mutable std::mutex mu_;
  // Waiters of different kinds (handler threads, drain(), pause()): every wake-up is
  // notify_all, or a notify_one taken by drain() would leave a follow-up unrun.
  std::condition_variable cv_;
  FairQueue<Delivery> queue_;
  std::deque<std::function<void()>> follow_ups_;
  std::size_t in_flight_ = 0;
  std::size_t unsettled_ = 0;
  bool intake_stopped_ = false;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace earshot::queue::detail

#pragma once
// Round-robin dispatch between keys (businesses) with a cap on items in flight per key.
//
// pop() serves the key after the one served last (in key order, wrapping), skipping keys
// with nothing pending or already at the cap, so one key's backlog cannot starve another:
// with K keys that have work, each gets one turn in every K dispatches. Not thread-safe;
// the owner serialises access.

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace earshot::queue {

template <class T>
class FairQueue {
 public:
  explicit FairQueue(std::size_t per_key_cap) : cap_(per_key_cap == 0 ? 1 : per_key_cap) {}

  void push(const std::string& key, T item) { lanes_[key].items.push_back(std::move(item)); }

  // The next item by round robin, counted in flight for its key until done(key).
  std::optional<std::pair<std::string, T>> pop() {
    if (lanes_.empty()) return std::nullopt;
    auto start = lanes_.upper_bound(last_);
    auto it = start;
    for (std::size_t n = 0; n < lanes_.size(); ++n) {
      if (it == lanes_.end()) it = lanes_.begin();
      Lane& lane = it->second;
      if (!lane.items.empty() && lane.in_flight < cap_) {
        T item = std::move(lane.items.front());
        lane.items.pop_front();
        ++lane.in_flight;
        last_ = it->first;
        return std::make_pair(it->first, std::move(item));
      }
      ++it;
    }
    return std::nullopt;
  }

  void done(const std::string& key) {
    auto it = lanes_.find(key);
    if (it == lanes_.end()) return;
    if (it->second.in_flight > 0) --it->second.in_flight;
    if (it->second.in_flight == 0 && it->second.items.empty()) lanes_.erase(it);
  }

  // Removes and returns every pending item matching `pred` (in-flight counts unchanged).
  template <class Pred>
  std::vector<T> remove_if(Pred pred) {
    std::vector<T> out;
    for (auto it = lanes_.begin(); it != lanes_.end();) {
      auto& items = it->second.items;
      for (auto i = items.begin(); i != items.end();) {
        if (pred(it->first, *i)) {
          out.push_back(std::move(*i));
          i = items.erase(i);
        } else {
          ++i;
        }
      }
      if (it->second.in_flight == 0 && items.empty()) {
        it = lanes_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  [[nodiscard]] std::size_t pending(const std::string& key) const {
    auto it = lanes_.find(key);
    return it == lanes_.end() ? 0 : it->second.items.size();
  }
  [[nodiscard]] std::size_t in_flight(const std::string& key) const {
    auto it = lanes_.find(key);
    return it == lanes_.end() ? 0 : it->second.in_flight;
  }
  [[nodiscard]] std::size_t total_pending() const {
    std::size_t n = 0;
    for (const auto& [k, lane] : lanes_) n += lane.items.size();
    return n;
  }
  [[nodiscard]] std::size_t total_in_flight() const {
    std::size_t n = 0;
    for (const auto& [k, lane] : lanes_) n += lane.in_flight;
    return n;
  }

 private:
  struct Lane {
    std::deque<T> items;
    std::size_t in_flight = 0;
  };
  std::size_t cap_;
  std::map<std::string, Lane> lanes_;
  std::string last_;
};

}  // namespace earshot::queue

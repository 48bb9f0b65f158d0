#include "earshot/analytics/conversation.hpp"

#include <algorithm>

namespace earshot::analytics {

std::string_view role_name(Role r) {
  return r == Role::kAgent ? "agent" : "customer";
}
std::string_view source_name(MetricSource s) {
  return s == MetricSource::kAudio ? "audio" : "transcript";
}

std::vector<Interval> normalize(std::vector<Interval> v) {
  std::erase_if(v, [](const Interval& i) { return i.end_ms <= i.start_ms; });
  std::sort(v.begin(), v.end(), [](const Interval& a, const Interval& b) {
    return a.start_ms < b.start_ms || (a.start_ms == b.start_ms && a.end_ms < b.end_ms);
  });
  std::vector<Interval> out;
  for (const auto& i : v) {
    if (!out.empty() && i.start_ms <= out.back().end_ms) {
      out.back().end_ms = std::max(out.back().end_ms, i.end_ms);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

namespace {

std::int64_t total(const std::vector<Interval>& v) {
  std::int64_t t = 0;
  for (const auto& i : v) t += i.length();
  return t;
}

std::vector<Interval> intersect(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  std::vector<Interval> out;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const auto lo = std::max(a[i].start_ms, b[j].start_ms);
    const auto hi = std::min(a[i].end_ms, b[j].end_ms);
    if (lo < hi) out.push_back({lo, hi});
    (a[i].end_ms < b[j].end_ms) ? ++i : ++j;
  }
  return out;
}

// Consecutive intervals of one speaker with gaps under `gap_ms` and no speech of the other
// speaker starting inside the gap form one turn.
std::vector<Interval> turns_of(const std::vector<Interval>& mine, const std::vector<Interval>& other,
                               std::int64_t gap_ms) {
  std::vector<Interval> out;
  for (const auto& i : mine) {
    if (!out.empty()) {
      const auto gap_lo = out.back().end_ms;
      const auto gap_hi = i.start_ms;
      const bool other_started = std::any_of(
          other.begin(), other.end(), [&](const Interval& o) { return o.start_ms >= gap_lo && o.start_ms < gap_hi; });
      if (gap_hi - gap_lo < gap_ms && !other_started) {
        out.back().end_ms = i.end_ms;
        continue;
      }
    }
    out.push_back(i);
  }
  return out;
}

// B interrupts A when B starts while A speaks and A goes on for at least `min_continue`
// after B started. The interruption lasts for the overlap that follows.
void count_interruptions(const std::vector<Interval>& interrupter, const std::vector<Interval>& other,
                         std::int64_t min_continue, SpeakerMetrics& m) {
  for (const auto& b : interrupter) {
    for (const auto& a : other) {
      if (a.start_ms < b.start_ms && b.start_ms < a.end_ms) {
        if (a.end_ms - b.start_ms >= min_continue) {
          ++m.interruptions;
          m.interruption_ms += std::min(a.end_ms, b.end_ms) - b.start_ms;
        }
        break;
      }
      if (a.start_ms >= b.start_ms) break;
    }
  }
}

}  // namespace

ConversationMetrics compute_conversation(std::vector<Interval> agent, std::vector<Interval> customer,
                                         std::int64_t duration_ms, const ConversationOptions& o) {
  ConversationMetrics m;
  agent = normalize(std::move(agent));
  customer = normalize(std::move(customer));
  // Speech past the end of the recording (rounding in a provider's timestamps) is clipped.
  for (auto* v : {&agent, &customer}) {
    for (auto& i : *v) i.end_ms = std::min(i.end_ms, std::max(duration_ms, i.start_ms));
    *v = normalize(std::move(*v));
  }
  m.duration_ms = duration_ms;
  m.agent.talk_ms = total(agent);
  m.customer.talk_ms = total(customer);
  const auto both = m.agent.talk_ms + m.customer.talk_ms;
  m.agent_talk_ratio = both > 0 ? static_cast<double>(m.agent.talk_ms) / static_cast<double>(both) : 0;
  m.agent_talk_share_of_call =
      duration_ms > 0 ? static_cast<double>(m.agent.talk_ms) / static_cast<double>(duration_ms) : 0;

  std::vector<Interval> all = agent;
  all.insert(all.end(), customer.begin(), customer.end());
  all = normalize(std::move(all));
  m.non_talk_ms = std::max<std::int64_t>(0, duration_ms - total(all));
  std::int64_t cursor = 0;
  for (const auto& i : all) {
    if (i.start_ms - cursor >= o.min_silence_ms) m.silences.push_back({cursor, i.start_ms});
    cursor = std::max(cursor, i.end_ms);
  }
  if (duration_ms - cursor >= o.min_silence_ms) m.silences.push_back({cursor, duration_ms});

  m.overtalk = intersect(agent, customer);
  m.overtalk_ms = total(m.overtalk);

  count_interruptions(agent, customer, o.interruption_min_continue_ms, m.agent);
  count_interruptions(customer, agent, o.interruption_min_continue_ms, m.customer);

  const auto agent_turns = turns_of(agent, customer, o.turn_merge_gap_ms);
  const auto customer_turns = turns_of(customer, agent, o.turn_merge_gap_ms);
  for (const auto& t : agent_turns) {
    m.agent.longest_turn_ms = std::max(m.agent.longest_turn_ms, t.length());
    m.turns.push_back({Role::kAgent, t});
  }
  for (const auto& t : customer_turns) {
    m.customer.longest_turn_ms = std::max(m.customer.longest_turn_ms, t.length());
    m.turns.push_back({Role::kCustomer, t});
  }
  m.agent.turns = static_cast<int>(agent_turns.size());
  m.customer.turns = static_cast<int>(customer_turns.size());
  std::sort(m.turns.begin(), m.turns.end(),
            [](const Turn& a, const Turn& b) { return a.span.start_ms < b.span.start_ms; });

  int switches = 0;
  double gap_sum = 0;
  for (std::size_t i = 1; i < m.turns.size(); ++i) {
    const auto& prev = m.turns[i - 1];
    const auto& cur = m.turns[i];
    if (prev.role != cur.role) ++switches;
    if (prev.role == Role::kCustomer && cur.role == Role::kAgent) {
      const auto gap = cur.span.start_ms - prev.span.end_ms;
      if (gap >= 0) {
        gap_sum += static_cast<double>(gap);
        ++m.patience_samples;
      }
    }
  }
  m.interactivity = duration_ms > 0 ? switches / (static_cast<double>(duration_ms) / 60000.0) : 0;
  m.patience_ms = m.patience_samples > 0 ? gap_sum / m.patience_samples : 0;
  return m;
}

}  // namespace earshot::analytics

#include "earshot/analytics/conversation.hpp"

#include <algorithm>
#include <iterator>
#include <span>

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

std::vector<Interruption> overlap_interruptions(std::vector<Interval> agent, std::vector<Interval> customer,
                                                std::int64_t min_continue_ms) {
  agent = normalize(std::move(agent));
  customer = normalize(std::move(customer));
  std::vector<Interruption> out;
  const auto scan = [&](Role by, const std::vector<Interval>& interrupter, const std::vector<Interval>& other) {
    for (const auto& b : interrupter) {
      for (const auto& a : other) {
        if (a.start_ms < b.start_ms && b.start_ms < a.end_ms) {
          if (a.end_ms - b.start_ms >= min_continue_ms)
            out.push_back({by, b.start_ms, std::min(a.end_ms, b.end_ms) - b.start_ms});
          break;
        }
        if (a.start_ms >= b.start_ms) break;
      }
    }
  };
  scan(Role::kAgent, agent, customer);
  scan(Role::kCustomer, customer, agent);
  std::stable_sort(out.begin(), out.end(),
                   [](const Interruption& x, const Interruption& y) { return x.start_ms < y.start_ms; });
  return out;
}

void set_interruptions(ConversationMetrics& m, std::span<const Interruption> found, bool inferred) {
  m.agent.interruptions = m.customer.interruptions = 0;
  m.agent.interruption_ms = m.customer.interruption_ms = 0;
  for (const auto& i : found) {
    auto& s = i.by == Role::kAgent ? m.agent : m.customer;
    ++s.interruptions;
    s.interruption_ms += i.duration_ms;
  }
  m.interruptions_inferred = inferred;
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

// Does one stretch of `speech` (sorted, not overlapping) cover [from, to]?
bool continuous(std::span<const Interval> speech, std::int64_t from, std::int64_t to) {
  if (to <= from) return true;
  const auto it = std::upper_bound(speech.begin(), speech.end(), from,
                                   [](std::int64_t t, const Interval& i) { return t < i.start_ms; });
  return it != speech.begin() && std::prev(it)->end_ms >= to;
}

}  // namespace

audio::VadOptions turn_taking_vad() {
  audio::VadOptions v;
  v.hangover_frames = 4;
  return v;
}

std::vector<Interruption> turn_taking_interruptions(std::vector<Interval> agent, std::vector<Interval> customer,
                                                    std::span<const Interval> speech, const TurnTakingOptions& o) {
  struct Piece {
    Role role;
    Interval span;
  };
  std::vector<Piece> pieces;
  for (const auto& i : normalize(std::move(agent))) pieces.push_back({Role::kAgent, i});
  for (const auto& i : normalize(std::move(customer))) pieces.push_back({Role::kCustomer, i});
  std::sort(pieces.begin(), pieces.end(),
            [](const Piece& x, const Piece& y) { return x.span.start_ms < y.span.start_ms; });
  // Latched: the next piece starts no later than `max_gap_ms` after this one ends, with no
  // pause of the mix between them.
  const auto latched = [&](const Piece& a, const Piece& b) {
    return b.span.start_ms - a.span.end_ms <= o.max_gap_ms &&
           continuous(speech, a.span.end_ms - o.margin_ms, b.span.start_ms + o.margin_ms);
  };
  std::vector<Interruption> out;
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    const auto& a = pieces[i - 1];
    const auto& b = pieces[i];
    if (a.role == b.role || !latched(a, b) || a.span.length() < o.min_before_ms) continue;
    const bool resumes = i + 1 < pieces.size() && pieces[i + 1].role == a.role && latched(b, pieces[i + 1]);
    if (resumes) {
      out.push_back({b.role, b.span.start_ms, b.span.length()});
    } else if (o.takeovers && b.span.length() >= o.takeover_min_after_ms) {
      out.push_back({b.role, b.span.start_ms, std::min(o.assumed_overlap_ms, b.span.length())});
    }
  }
  return out;
}

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

  set_interruptions(m, overlap_interruptions(agent, customer, o.interruption_min_continue_ms), false);

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

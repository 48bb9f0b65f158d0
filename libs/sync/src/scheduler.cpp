#include "earshot/sync/scheduler.hpp"

#include <fmt/format.h>

#include <exception>

#include "earshot/core/log.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/outcome.hpp"

namespace earshot::sync {
namespace {

SyncDeps with_sleep(SyncDeps d, std::function<bool(std::chrono::milliseconds)> sleep) {
  d.sleep = std::move(sleep);
  return d;
}

std::string kind_of(std::string_view source) {
  return source.starts_with("feed:") ? std::string("feed") : std::string(source);
}

}  // namespace

SyncScheduler::SyncScheduler(SyncDeps deps, SchedulerOptions options, BusinessList businesses)
    : deps_(with_sleep(std::move(deps), [this](std::chrono::milliseconds d) { return sleep_for(d); })),
      options_(options),
      businesses_(std::move(businesses)),
      list_failures_(
          &deps_.metrics.counter("earshot_sync_business_list_failures_total",
                                 "Scheduler ticks whose list of businesses failed; the previous schedules were kept.")),
      db_(deps_),
      crm_(deps_),
      feeds_(deps_) {}

SyncScheduler::~SyncScheduler() {
  stop();
}

Status SyncScheduler::start() {
  std::lock_guard lock(mu_);
  stopping_ = false;
  loop_ = std::thread([this] { loop(); });
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.threads); ++i) {
    workers_.emplace_back([this] { work(); });
  }
  return {};
}

void SyncScheduler::stop_intake() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  db_.cancel();
  cv_.notify_all();
}

void SyncScheduler::drain(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [this] { return running_ == 0; });
}

void SyncScheduler::stop() {
  stop_intake();
  if (loop_.joinable()) loop_.join();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

bool SyncScheduler::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void SyncScheduler::trigger(const std::string& bid) {
  {
    std::lock_guard lock(mu_);
    auto& st = state_[bid];
    st.refresh = {};
    for (auto& [name, s] : st.sources) s.next = {};
  }
  cv_.notify_all();
}

std::int64_t SyncScheduler::passes(std::string_view kind) const {
  std::lock_guard lock(mu_);
  auto it = passes_.find(kind);
  return it == passes_.end() ? 0 : it->second;
}

void SyncScheduler::refresh(const std::string& bid, BizState& st, std::chrono::steady_clock::time_point now) {
  // Called without mu_ held for the database read; the caller re-locks to apply.
  st.refresh = now + options_.config_refresh;
  auto t = storage::TenantId::make(bid);
  if (!t) return;
  auto config = deps_.configs.get(*t);
  std::map<std::string, std::chrono::milliseconds> wanted;
  if (config) {
    if (const auto db = parse_source_db(*config).value_or(std::nullopt)) wanted[std::string(kDbSource)] = db->every;
    if (const auto crm = parse_crm(*config).value_or(std::nullopt)) wanted[std::string(kCrmSource)] = crm->every;
    if (auto feeds = parse_feeds(*config); feeds) {
      for (const auto& f : *feeds) wanted[feed_source(f.name)] = f.every;
    }
    // A source with a broken config still gets a pass, which reports why it fails.
    if (auto db = parse_source_db(*config); !db) wanted[std::string(kDbSource)] = options_.retry_after_failure;
    if (auto crm = parse_crm(*config); !crm) wanted[std::string(kCrmSource)] = options_.retry_after_failure;
  } else if (config.error().code != ErrorCode::kNotFound) {
    log::warn("pipeline config unreadable", {{"bid", bid}, {"error", config.error().to_string()}});
    return;
  }
  std::lock_guard lock(mu_);
  for (auto it = st.sources.begin(); it != st.sources.end();) {
    if (!wanted.contains(it->first) && !it->second.running) {
      it = st.sources.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, every] : wanted) {
    auto& s = st.sources[name];
    s.every = every;
  }
}

void SyncScheduler::loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.tick, [this] { return stopping_; });
      if (stopping_) return;
    }
    auto listed = list_businesses();
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> to_refresh;
    {
      std::lock_guard lock(mu_);
      std::vector<std::string> bids;
      if (listed) {
        bids = std::move(*listed);
      } else {
        for (const auto& [bid, st] : state_) bids.push_back(bid);  // as they were
      }
      for (auto it = state_.begin(); it != state_.end();) {
        bool keep = std::find(bids.begin(), bids.end(), it->first) != bids.end();
        bool busy = false;
        for (const auto& [n, s] : it->second.sources) busy = busy || s.running;
        if (!keep && !busy) {
          it = state_.erase(it);
        } else {
          ++it;
        }
      }
      for (const auto& bid : bids) {
        auto& st = state_[bid];
        if (st.refresh <= now) to_refresh.push_back(bid);
      }
    }
    for (const auto& bid : to_refresh) {
      BizState* st = nullptr;
      {
        std::lock_guard lock(mu_);
        st = &state_[bid];  // map nodes are stable; only this thread erases
      }
      refresh(bid, *st, now);
    }
    {
      std::lock_guard lock(mu_);
      for (auto& [bid, st] : state_) {
        for (auto& [source, s] : st.sources) {
          if (!s.running && s.next <= now) {
            s.running = true;
            jobs_.push_back({bid, source});
          }
        }
      }
    }
    cv_.notify_all();
  }
}

std::optional<std::vector<std::string>> SyncScheduler::list_businesses() {
  Result<std::vector<std::string>> r = make_error(ErrorCode::kInternal, "no business list");
  try {
    r = businesses_();
  } catch (const std::exception& e) {
    // The list comes from outside this class; an exception from it must not end the loop
    // thread (that would terminate the worker) nor drop the schedules.
    r = make_error(ErrorCode::kInternal, fmt::format("the business list threw: {}", e.what()));
  }
  if (r) {
    if (!last_list_error_.empty()) {
      log::info("sync scheduler: the business list answers again", {{"businesses", std::to_string(r->size())}});
      last_list_error_.clear();
    }
    return std::move(*r);
  }
  list_failures_->Add({}).Increment();
  const auto reason = r.error().to_string();
  if (reason != last_list_error_) {
    std::size_t kept = 0;
    {
      std::lock_guard lock(mu_);
      kept = state_.size();
    }
    log::error("sync scheduler: listing the businesses failed; keeping the previous schedules",
               {{"error", reason}, {"businesses_kept", std::to_string(kept)}});
    last_list_error_ = reason;
  }
  return std::nullopt;
}

void SyncScheduler::work() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    auto st = run(job);
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      --running_;
      ++passes_[kind_of(job.source)];
      auto& s = state_[job.bid].sources[job.source];
      s.running = false;
      s.next = now + (st ? s.every : std::min(s.every, options_.retry_after_failure));
    }
    cv_.notify_all();
  }
}

Status SyncScheduler::run(const Job& job) {
  auto t = storage::TenantId::make(job.bid);
  if (!t) return std::unexpected(t.error());
  log::ScopedContext ctx({.bid = job.bid, .call_id = {}, .trace_id = {}});
  Result<SyncReport> r = make_error(ErrorCode::kInternal, "unknown source");
  if (job.source == kDbSource) {
    r = db_.run_once(*t);
  } else if (job.source == kCrmSource) {
    r = crm_.run_once(*t);
  } else if (job.source.starts_with("feed:")) {
    auto reports = feeds_.run_once(*t, std::string_view(job.source).substr(5));
    if (!reports) {
      r = std::unexpected(reports.error());
    } else if (!reports->empty()) {
      r = std::move(reports->front());
    } else {
      r = SyncReport{};
    }
  }
  if (!r) {
    log::error("sync pass failed", {{"source", job.source}, {"error", r.error().to_string()}});
    return std::unexpected(r.error());
  }
  if (r->created || r->published || r->leads || r->rejected || r->blocked) {
    log::info("sync pass", {{"source", job.source},
                            {"rows", std::to_string(r->rows)},
                            {"created", std::to_string(r->created)},
                            {"published", std::to_string(r->published)},
                            {"leads", std::to_string(r->leads)},
                            {"skipped", std::to_string(r->skipped)},
                            {"blocked", r->blocked ? "true" : "false"}});
  }
  return {};
}

queue::HandlerResult SyncTriggerHandler::handle(const queue::IncomingMessage& message) {
  // The request names a call, but a pass covers the whole business the envelope names.
  if (auto request = queue::SyncRequest::parse(message.body); !request) return queue::outcome_of(request.error());
  scheduler_.trigger(message.envelope.bid);
  return queue::Outcome{queue::Done{}};
}

}  // namespace earshot::sync

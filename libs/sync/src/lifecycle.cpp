#include "earshot/sync/lifecycle.hpp"

#include <nlohmann/json.hpp>

#include "earshot/core/log.hpp"

namespace earshot::sync {

namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

LifecycleSweeper::LifecycleSweeper(LifecycleDeps deps, LifecycleOptions options)
    : d_(deps),
      o_(options),
      runs_(d_.metrics.counter("earshot_lifecycle_runs_total",
                               "Data-lifecycle sweeps (retention and phone hashing over every business) by outcome.")),
      errors_(d_.metrics.counter("earshot_lifecycle_errors_total",
                                 "Data-lifecycle errors by step (list, lock, config, objects, calls, phones).")),
      purged_(d_.metrics
                  .counter("earshot_lifecycle_calls_purged_total",
                           "Calls deleted by retention with everything derived from them.")
                  .Add({})),
      objects_deleted_(d_.metrics
                           .counter("earshot_lifecycle_objects_deleted_total",
                                    "Recordings deleted from the object store by retention.")
                           .Add({})),
      phones_hashed_(d_.metrics
                         .counter("earshot_lifecycle_phones_hashed_total",
                                  "Customer phone numbers of finished calls replaced by their hash.")
                         .Add({})),
      last_run_(d_.metrics
                    .gauge("earshot_lifecycle_last_run_timestamp_seconds",
                           "Unix time the last data-lifecycle sweep finished (0: none yet).")
                    .Add({})),
      last_success_(d_.metrics
                        .gauge("earshot_lifecycle_last_success_timestamp_seconds",
                               "Unix time the last data-lifecycle sweep without errors finished (0: none yet).")
                        .Add({})) {
  runs_.Add({{"outcome", "ok"}});
  runs_.Add({{"outcome", "failed"}});
  for (const char* step : {"list", "lock", "config", "objects", "calls", "phones"}) errors_.Add({{"step", step}});
}

void LifecycleSweeper::error(BusinessSweep& out, std::string_view step, const std::string& message) {
  errors_.Add({{"step", std::string(step)}}).Increment();
  out.errors.push_back(std::string(step) + ": " + message);
}

Result<std::vector<BusinessSweep>> LifecycleSweeper::run_once() {
  auto list = d_.businesses.list_all();
  if (!list) {
    errors_.Add({{"step", "list"}}).Increment();
    runs_.Add({{"outcome", "failed"}}).Increment();
    last_run_.Set(unix_seconds(d_.clock.now()));
    log::warn("lifecycle sweep: the list of businesses is unreadable", {{"error", list.error().to_string()}});
    return make_error(ErrorCode::kUnavailable, "businesses unreadable: " + list.error().message);
  }
  std::vector<BusinessSweep> out;
  bool ok = true;
  for (const auto& b : *list) {
    if (cancelled_) break;
    out.push_back(sweep(b.bid));
    ok = ok && out.back().errors.empty();
  }
  const double now = unix_seconds(d_.clock.now());
  last_run_.Set(now);
  if (ok && !cancelled_) {
    runs_.Add({{"outcome", "ok"}}).Increment();
    last_success_.Set(now);
  } else {
    runs_.Add({{"outcome", "failed"}}).Increment();
  }
  return out;
}

BusinessSweep LifecycleSweeper::sweep(const std::string& bid) {
  BusinessSweep out;
  out.bid = bid;
  auto tenant = storage::TenantId::make(bid);
  if (!tenant) {
    error(out, "config", tenant.error().to_string());
    return out;
  }
  const storage::TenantId& t = *tenant;
  std::int64_t retention_days = 0;
  auto lock = d_.locks.try_acquire(t, "lifecycle");
  if (!lock) {
    error(out, "lock", lock.error().to_string());
  } else if (*lock == nullptr) {
    out.skipped = true;
    log::info("lifecycle sweep: business skipped, another process holds its lock", {{"bid", bid}});
    return out;
  } else if (auto config = d_.configs.get(t); !config) {
    // A business without a pipeline config has nothing that says how long to keep its calls.
    if (config.error().code != ErrorCode::kNotFound) error(out, "config", config.error().to_string());
  } else {
    retention_days = config->retention_days;
    if (retention_days > 0) purge(t, static_cast<int>(retention_days), out);
    if (config->hash_phone_after_analysis) hash_phones(t, out);
  }
  const std::string purged = std::to_string(out.calls_purged);
  const std::string deleted = std::to_string(out.objects_deleted);
  const std::string hashed = std::to_string(out.phones_hashed);
  const std::string days = std::to_string(retention_days);
  const std::string more = out.more_left ? "true" : "false";
  if (out.errors.empty()) {
    log::info("lifecycle sweep", {{"bid", bid},
                                  {"calls_purged", purged},
                                  {"objects_deleted", deleted},
                                  {"phones_hashed", hashed},
                                  {"retention_days", days},
                                  {"more_left", more}});
  } else {
    log::warn("lifecycle sweep failed in part", {{"bid", bid},
                                                 {"calls_purged", purged},
                                                 {"objects_deleted", deleted},
                                                 {"phones_hashed", hashed},
                                                 {"retention_days", days},
                                                 {"more_left", more},
                                                 {"errors", nlohmann::json(out.errors).dump()}});
  }
  return out;
}

void LifecycleSweeper::purge(const storage::TenantId& t, int retention_days, BusinessSweep& out) {
  const auto cutoff = storage::to_timestamp(d_.clock.now()) - std::chrono::days(retention_days);
  for (int batch = 0; batch < o_.max_batches; ++batch) {
    if (cancelled_) return;
    auto candidates = d_.calls.purge_candidates(t, cutoff, o_.batch_size);
    if (!candidates) {
      error(out, "calls", candidates.error().to_string());
      return;
    }
    if (candidates->empty()) return;
    std::vector<storage::Id> ids;
    ids.reserve(candidates->size());
    bool object_failed = false;
    for (const auto& c : *candidates) {
      // A recording in a store this process is not configured for (s3:// without the S3
      // settings): deleting the row would orphan the object, so the call waits.
      if ((c.audio_uri.starts_with("s3://") || c.audio_uri.starts_with("store://")) && !d_.objects.owns(c.audio_uri)) {
        if (!object_failed)
          error(out, "objects",
                "recording in a store this process is not configured for: " +
                    c.audio_uri.substr(0, c.audio_uri.find("://") + 3));
        object_failed = true;
        continue;
      }
      if (!c.audio_uri.empty() && d_.objects.owns(c.audio_uri)) {
        if (auto own = d_.objects.owned_by(c.audio_uri, t.bid()); !own) {
          // A URI outside the business's prefix (older code): the object is another
          // business's or nobody's to delete here; the rows go.
          log::warn("retention: recording outside the business's prefix left alone",
                    {{"bid", t.bid()}, {"call_id", std::to_string(c.id)}, {"reason", own.error().message}});
        } else if (auto st = d_.objects.remove(c.audio_uri); !st) {
          if (!object_failed) error(out, "objects", st.error().to_string());
          object_failed = true;
          continue;  // the call stays until its recording can go
        } else {
          ++out.objects_deleted;
          objects_deleted_.Increment();
        }
      }
      // The recording's redacted copy (analyze stage), under the same rule.
      if (!c.redacted_audio_uri.empty() && d_.objects.owns(c.redacted_audio_uri) &&
          d_.objects.owned_by(c.redacted_audio_uri, t.bid())) {
        if (auto st = d_.objects.remove(c.redacted_audio_uri); !st) {
          if (!object_failed) error(out, "objects", st.error().to_string());
          object_failed = true;
          continue;  // the call stays until its redacted copy can go
        }
        ++out.objects_deleted;
        objects_deleted_.Increment();
      }
      ids.push_back(c.id);
    }
    auto removed = d_.calls.remove_many(t, ids);
    if (!removed) {
      error(out, "calls", removed.error().to_string());
      return;
    }
    out.calls_purged += *removed;
    purged_.Increment(static_cast<double>(*removed));
    if (d_.events != nullptr && !ids.empty()) {
      (void)d_.events->publish(t.bid(), "calls.purged", {{"call_ids", ids}});
    }
    if (object_failed) return;  // the store is failing: the next sweep retries
    if (static_cast<int>(candidates->size()) < o_.batch_size) return;
  }
  out.more_left = true;
}

void LifecycleSweeper::hash_phones(const storage::TenantId& t, BusinessSweep& out) {
  for (int batch = 0; batch < o_.max_batches; ++batch) {
    if (cancelled_) return;
    auto n = d_.calls.hash_finished_phones(t, o_.batch_size);
    if (!n) {
      error(out, "phones", n.error().to_string());
      return;
    }
    out.phones_hashed += *n;
    phones_hashed_.Increment(static_cast<double>(*n));
    if (*n < o_.batch_size) return;
  }
  out.more_left = true;
}

LifecycleScheduler::~LifecycleScheduler() {
  stop();
}

Status LifecycleScheduler::start() {
  thread_ = std::thread([this] { loop(); });
  return {};
}

void LifecycleScheduler::stop_intake() {
  sweeper_.cancel();
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

void LifecycleScheduler::stop() {
  stop_intake();
  if (thread_.joinable()) thread_.join();
}

std::int64_t LifecycleScheduler::sweeps() const {
  std::lock_guard lock(mu_);
  return sweeps_;
}

void LifecycleScheduler::loop() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    (void)sweeper_.run_once();
    std::unique_lock lock(mu_);
    ++sweeps_;
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) return;
  }
}

}  // namespace earshot::sync

#include "earshot/rag/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace earshot::rag {

struct IndexRegistry::Entry {
  std::shared_ptr<BusinessIndex> index;  // null while loading and after a failed load
  bool loading = true;
  std::optional<Error> failure;                          // why the load failed, for its waiters
  std::vector<std::pair<Update, std::int64_t>> pending;  // updates that arrived during the load
  std::chrono::steady_clock::time_point last_used;
  std::uint64_t sequence = 0;  // breaks ties of last_used (a clock that did not move)
  std::size_t bytes = 0;
};

struct IndexRegistry::MetricHandles {
  prometheus::Gauge* shards = nullptr;
  prometheus::Gauge* bytes = nullptr;
  prometheus::Counter* loads_ok = nullptr;
  prometheus::Counter* loads_failed = nullptr;
  prometheus::Histogram* load_seconds = nullptr;
  prometheus::Counter* evictions = nullptr;
};

IndexRegistry::IndexRegistry(ChunkSource& source, const Clock& clock, RegistrySettings settings, Metrics* metrics)
    : source_(&source), clock_(&clock), settings_(settings) {
  settings_.page_size = std::max<std::size_t>(settings_.page_size, 1);
  if (metrics == nullptr) return;
  metrics_ = std::make_unique<MetricHandles>();
  metrics_->shards =
      &metrics->gauge("earshot_rag_index_shards", "Search shards (business, embedder model) loaded.").Add({});
  metrics_->bytes = &metrics->gauge("earshot_rag_index_bytes", "Estimated memory of the loaded search shards.").Add({});
  auto& loads = metrics->counter("earshot_rag_index_loads_total", "Search shard loads from the database, by outcome.");
  metrics_->loads_ok = &loads.Add({{"outcome", "ok"}});
  metrics_->loads_failed = &loads.Add({{"outcome", "failed"}});
  metrics_->load_seconds =
      &metrics->histogram("earshot_rag_index_load_seconds", "Time to load one search shard from the database.")
           .Add({}, Metrics::latency_buckets());
  metrics_->evictions =
      &metrics->counter("earshot_rag_index_evictions_total", "Search shards evicted to stay in the memory budget.")
           .Add({});
}

IndexRegistry::~IndexRegistry() = default;

Result<std::shared_ptr<BusinessIndex>> IndexRegistry::get(const std::string& bid, std::string_view model) {
  ShardKey key{bid, std::string(model)};
  std::unique_lock lock(mu_);
  if (const auto it = shards_.find(key); it != shards_.end()) {
    const auto entry = it->second;
    loaded_cv_.wait(lock, [&] { return !entry->loading; });
    if (!entry->index)
      return std::unexpected(entry->failure.value_or(Error(ErrorCode::kInternal, "index load failed")));
    entry->last_used = clock_->steady_now();
    entry->sequence = ++use_sequence_;
    return entry->index;
  }
  const auto entry = std::make_shared<Entry>();
  shards_.emplace(key, entry);
  lock.unlock();

  const auto started = clock_->steady_now();
  auto loaded = load(bid, key.second);
  // Updates that arrived during the load go in before anybody sees the shard.
  for (;;) {
    std::vector<std::pair<Update, std::int64_t>> todo;
    lock.lock();
    if (loaded) todo.swap(entry->pending);
    if (todo.empty()) break;  // holding the lock
    lock.unlock();
    for (const auto& [update, id] : todo) {
      if (auto s = apply(**loaded, bid, key.second, update, id); !s) {
        loaded = std::unexpected(s.error());
        break;
      }
    }
  }
  const std::size_t bytes = loaded ? (*loaded)->memory_bytes() : 0;

  entry->loading = false;
  if (metrics_) {
    (loaded ? metrics_->loads_ok : metrics_->loads_failed)->Increment();
    metrics_->load_seconds->Observe(std::chrono::duration<double>(clock_->steady_now() - started).count());
  }
  if (!loaded) {
    entry->failure = loaded.error();
    shards_.erase(key);
  } else {
    entry->index = *loaded;
    entry->bytes = bytes;
    entry->last_used = clock_->steady_now();
    entry->sequence = ++use_sequence_;
    evict_locked(key);
  }
  publish_gauges_locked();
  lock.unlock();
  loaded_cv_.notify_all();
  return loaded;
}

Result<std::shared_ptr<BusinessIndex>> IndexRegistry::load(const std::string& bid, const std::string& model) {
  auto index = std::make_shared<BusinessIndex>(settings_.vector, settings_.build_threads);
  using Scan = Result<std::vector<SourceChunk>> (ChunkSource::*)(const std::string&, std::string_view, std::int64_t,
                                                                 std::size_t);
  for (const Scan scan : {&ChunkSource::scan_calls, &ChunkSource::scan_knowledge}) {
    std::int64_t after = 0;
    for (;;) {
      auto page = (source_->*scan)(bid, model, after, settings_.page_size);
      if (!page)
        return std::unexpected(page.error().with_context(fmt::format("loading the index of business {}", bid)));
      if (page->empty()) break;
      const std::int64_t last = key_row_id(page->back().key);
      if (last <= after) {
        return make_error(ErrorCode::kInternal,
                          fmt::format("chunk source page for business {} did not advance past row {}", bid, after));
      }
      if (auto s = index->add_rows(*page); !s) {
        return std::unexpected(s.error().with_context(fmt::format("loading the index of business {}", bid)));
      }
      after = last;
      if (page->size() < settings_.page_size) break;
    }
  }
  return index;
}

Status IndexRegistry::apply(BusinessIndex& index, const std::string& bid, const std::string& model, Update update,
                            std::int64_t id) {
  switch (update) {
    case Update::kRefreshCall: {
      auto rows = source_->call_rows(bid, model, id);
      if (!rows) return std::unexpected(rows.error());
      return index.replace_call(id, *rows);
    }
    case Update::kForgetCall:
      index.remove_call(id);
      return {};
    case Update::kRefreshDocument: {
      auto rows = source_->document_rows(bid, model, id);
      if (!rows) return std::unexpected(rows.error());
      return index.replace_document(id, *rows);
    }
    case Update::kForgetDocument:
      index.remove_document(id);
      return {};
  }
  return {};
}

Status IndexRegistry::update(const std::string& bid, Update update, std::int64_t id) {
  std::vector<std::pair<std::shared_ptr<Entry>, std::string>> ready;
  {
    std::lock_guard lock(mu_);
    for (auto it = shards_.lower_bound(ShardKey{bid, std::string()}); it != shards_.end() && it->first.first == bid;
         ++it) {
      if (it->second->loading) {
        it->second->pending.emplace_back(update, id);
      } else {
        ready.emplace_back(it->second, it->first.second);
      }
    }
  }
  Status result;
  for (const auto& [entry, model] : ready) {
    if (auto s = apply(*entry->index, bid, model, update, id); !s && result) result = s;
    const std::size_t bytes = entry->index->memory_bytes();
    std::lock_guard lock(mu_);
    entry->bytes = bytes;
  }
  std::lock_guard lock(mu_);
  publish_gauges_locked();
  return result;
}

Status IndexRegistry::refresh_call(const std::string& bid, std::int64_t call_id) {
  return update(bid, Update::kRefreshCall, call_id);
}

void IndexRegistry::forget_call(const std::string& bid, std::int64_t call_id) {
  (void)update(bid, Update::kForgetCall, call_id);
}

Status IndexRegistry::refresh_document(const std::string& bid, std::int64_t document_id) {
  return update(bid, Update::kRefreshDocument, document_id);
}

void IndexRegistry::forget_document(const std::string& bid, std::int64_t document_id) {
  (void)update(bid, Update::kForgetDocument, document_id);
}

void IndexRegistry::forget_all() {
  std::lock_guard lock(mu_);
  std::erase_if(shards_, [](const auto& kv) { return !kv.second->loading; });
  publish_gauges_locked();
}

void IndexRegistry::evict_locked(const ShardKey& keep) {
  std::size_t total = 0;
  for (const auto& [key, entry] : shards_) total += entry->bytes;
  while (total > settings_.memory_budget_bytes) {
    auto victim = shards_.end();
    for (auto it = shards_.begin(); it != shards_.end(); ++it) {
      const auto& e = *it->second;
      // use_count 1: only the registry holds the shard, nobody is searching it.
      if (e.loading || it->first == keep || e.index.use_count() != 1) continue;
      if (victim == shards_.end() ||
          std::pair(e.last_used, e.sequence) < std::pair(victim->second->last_used, victim->second->sequence)) {
        victim = it;
      }
    }
    if (victim == shards_.end()) return;
    total -= victim->second->bytes;
    shards_.erase(victim);
    if (metrics_) metrics_->evictions->Increment();
  }
}

void IndexRegistry::publish_gauges_locked() {
  if (!metrics_) return;
  std::size_t count = 0;
  std::size_t bytes = 0;
  for (const auto& [key, entry] : shards_) {
    if (!entry->index) continue;
    ++count;
    bytes += entry->bytes;
  }
  metrics_->shards->Set(static_cast<double>(count));
  metrics_->bytes->Set(static_cast<double>(bytes));
}

bool IndexRegistry::loaded(const std::string& bid, std::string_view model) const {
  std::lock_guard lock(mu_);
  const auto it = shards_.find(ShardKey{bid, std::string(model)});
  return it != shards_.end() && it->second->index != nullptr;
}

std::size_t IndexRegistry::shard_count() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(shards_.begin(), shards_.end(), [](const auto& kv) { return kv.second->index != nullptr; }));
}

std::size_t IndexRegistry::memory_bytes() const {
  std::lock_guard lock(mu_);
  std::size_t bytes = 0;
  for (const auto& [key, entry] : shards_) bytes += entry->bytes;
  return bytes;
}

}  // namespace earshot::rag

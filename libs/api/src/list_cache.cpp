#include "earshot/api/list_cache.hpp"

#include <mutex>

namespace earshot::api {

ListCache::ListCache(const Clock& clock, std::chrono::milliseconds ttl, std::size_t max_entries, Metrics* metrics)
    : clock_(clock), ttl_(ttl), max_entries_(std::max<std::size_t>(max_entries, 1)) {
  if (metrics != nullptr) {
    auto& f =
        metrics->counter("earshot_list_cache_requests_total", "Calls list requests by cache result (hit or miss).");
    hits_ = &f.Add({{"result", "hit"}});
    misses_ = &f.Add({{"result", "miss"}});
  }
}

std::string ListCache::key_of(const Request& req) {
  std::string key = req.path;
  for (const auto& [k, v] : req.query) {
    key += '\x1f';
    key += k;
    key += '=';
    key += v;
  }
  return key;
}

std::uint64_t ListCache::generation_locked(const std::string& bid) const {
  auto it = generations_.find(bid);
  return all_ + (it == generations_.end() ? 0 : it->second);
}

std::uint64_t ListCache::generation(const std::string& bid) const {
  std::shared_lock lock(mu_);
  return generation_locked(bid);
}

std::optional<Reply> ListCache::find(const std::string& bid, const std::string& key) const {
  if (!enabled()) return std::nullopt;
  const auto now = clock_.steady_now();
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(bid + '\n' + key);
    if (it != entries_.end() && it->second.generation == generation_locked(bid) && now < it->second.expires) {
      if (hits_ != nullptr) hits_->Increment();
      return it->second.reply;
    }
  }
  if (misses_ != nullptr) misses_->Increment();
  return std::nullopt;
}

void ListCache::store(const std::string& bid, const std::string& key, std::uint64_t generation, const Reply& reply) {
  if (!enabled() || reply.status != 200 || reply.stream || reply.read_piece) return;
  Entry e{generation, clock_.steady_now() + ttl_, reply};
  if (!e.reply.raw) {
    // Serialized once here; hits send the text.
    e.reply.raw = e.reply.json.dump();
    e.reply.json = nullptr;
  }
  std::unique_lock lock(mu_);
  if (generation != generation_locked(bid)) return;  // changed while the database was asked
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_.insert_or_assign(bid + '\n' + key, std::move(e));
}

void ListCache::invalidate(const std::string& bid) {
  std::unique_lock lock(mu_);
  ++generations_[bid];
}

void ListCache::invalidate_all() {
  std::unique_lock lock(mu_);
  ++all_;
  entries_.clear();
}

}  // namespace earshot::api

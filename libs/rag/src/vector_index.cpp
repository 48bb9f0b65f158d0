#include "earshot/rag/vector_index.hpp"

#include <fmt/format.h>
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <utility>

#include "inner_product.hpp"

namespace earshot::rag {

namespace {

using Hnsw = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;
using Scored = std::pair<float, tableint>;  // (distance = 1 - cosine, internal id)

struct ByDistance {
  bool operator()(const Scored& a, const Scored& b) const noexcept { return a.first < b.first; }
};
// Worst (largest distance) on top.
using MaxHeap = std::priority_queue<Scored, std::vector<Scored>, ByDistance>;

// Best first, similarity = 1 - distance.
std::vector<VectorHit> drain(const Hnsw& h, MaxHeap& heap, std::size_t k) {
  while (heap.size() > k) heap.pop();
  std::vector<VectorHit> hits(heap.size());
  for (std::size_t i = hits.size(); i-- > 0;) {
    hits[i] = {.key = h.getExternalLabel(heap.top().second), .similarity = 1.0F - heap.top().first};
    heap.pop();
  }
  return hits;
}

// Greedy descent through the upper layers to the base-layer entry point closest to `q`.
tableint descend(const Hnsw& h, const float* q) {
  tableint current = h.enterpoint_node_;
  float current_distance = h.fstdistfunc_(q, h.getDataByInternalId(current), h.dist_func_param_);
  for (int level = h.maxlevel_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      auto* list = h.get_linklist(current, level);
      const auto count = h.getListCount(list);
      const auto* links = reinterpret_cast<const tableint*>(list + 1);
      for (unsigned i = 0; i < count; ++i) {
        const float d = h.fstdistfunc_(q, h.getDataByInternalId(links[i]), h.dist_func_param_);
        if (d < current_distance) {
          current_distance = d;
          current = links[i];
          changed = true;
        }
      }
    }
  }
  return current;
}

// The base-layer beam search of hnswlib with deletions and a filter: every node is walked
// through, only live allowed ones are kept, and the beam stops only once it holds `ef` kept
// nodes none of which a closer candidate could displace.
MaxHeap walk_base_layer(const Hnsw& h, tableint entry, const float* q, std::size_t ef, const KeyFilter* filter) {
  const auto keep = [&](tableint id) {
    return !h.isMarkedDeleted(id) && (filter == nullptr || filter->allowed(h.getExternalLabel(id)));
  };
  hnswlib::VisitedList* visited_list = h.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* visited = visited_list->mass;
  const hnswlib::vl_type tag = visited_list->curV;

  MaxHeap top;
  std::priority_queue<Scored, std::vector<Scored>, ByDistance> candidates;  // holds -distance
  float bound = std::numeric_limits<float>::max();
  const float d0 = h.fstdistfunc_(q, h.getDataByInternalId(entry), h.dist_func_param_);
  if (keep(entry)) {
    top.emplace(d0, entry);
    bound = d0;
  }
  candidates.emplace(-d0, entry);
  visited[entry] = tag;

  while (!candidates.empty()) {
    const auto [negative_distance, id] = candidates.top();
    if (-negative_distance > bound && top.size() >= ef) break;
    candidates.pop();
    auto* list = h.get_linklist0(id);
    const auto count = h.getListCount(list);
    const auto* links = reinterpret_cast<const tableint*>(list + 1);
    for (unsigned j = 0; j < count; ++j) {
      const tableint next = links[j];
      if (visited[next] == tag) continue;
      visited[next] = tag;
      const float d = h.fstdistfunc_(q, h.getDataByInternalId(next), h.dist_func_param_);
      if (top.size() < ef || d < bound) {
        candidates.emplace(-d, next);
        if (keep(next)) top.emplace(d, next);
        if (top.size() > ef) top.pop();
        if (!top.empty()) bound = top.top().first;
      }
    }
  }
  h.visited_list_pool_->releaseVisitedList(visited_list);
  return top;
}

// hnswlib's space interface over our inner-product distance (inner_product.hpp): AVX2 + FMA
// where the CPU has them (hnswlib's own picks its SSE form at compile time for the baseline).
class InnerProductSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit InnerProductSpace(std::size_t dimension)
      : dimension_(dimension), distance_(detail::inner_product_distance()) {}
  std::size_t get_data_size() override { return dimension_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &dimension_; }

 private:
  std::size_t dimension_;
  hnswlib::DISTFUNC<float> distance_;
};

// malloc's per-block overhead on glibc x86-64, counted for each separately allocated block.
constexpr std::size_t kMallocOverhead = 16;

}  // namespace

struct VectorIndex::Graph {
  InnerProductSpace space;
  Hnsw hnsw;
  std::size_t upper_link_bytes = 0;  // upper-layer link lists, allocated per node that has levels

  Graph(std::size_t dimension, const VectorIndexSettings& s, std::size_t capacity)
      : space(dimension), hnsw(&space, capacity, s.m, s.ef_construction, s.seed) {}

  [[nodiscard]] std::size_t live() const { return hnsw.cur_element_count - hnsw.num_deleted_; }

  void count_levels(tableint id) {
    const int level = hnsw.element_levels_[id];
    if (level > 0)
      upper_link_bytes += hnsw.size_links_per_element_ * static_cast<std::size_t>(level) + 1 + kMallocOverhead;
  }

  // Adds or replaces; the capacity must already allow a new key.
  void insert(std::uint64_t key, const float* v) {
    const bool fresh = !hnsw.label_lookup_.contains(key);
    const tableint id = hnsw.addPoint(v, key, -1);
    if (fresh) count_levels(id);
  }
};

VectorIndex::VectorIndex(std::size_t dimension, VectorIndexSettings settings)
    : dimension_(dimension), settings_(settings) {
  settings_.m = std::max<std::size_t>(settings_.m, 2);
  settings_.initial_capacity = std::max<std::size_t>(settings_.initial_capacity, 16);
  graph_ = std::make_unique<Graph>(dimension_, settings_, settings_.initial_capacity);
}

VectorIndex::~VectorIndex() = default;

Result<std::vector<float>> VectorIndex::normalised(std::span<const float> v) const {
  if (v.size() != dimension_ || dimension_ == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("vector of dimension {} where the index holds {}", v.size(), dimension_));
  }
  double norm = 0;
  for (const float x : v) norm += static_cast<double>(x) * x;
  if (!(norm > 0) || !std::isfinite(norm)) {
    return make_error(ErrorCode::kInvalidArgument, "a zero or non-finite vector has no direction");
  }
  const double inverse = 1.0 / std::sqrt(norm);
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i] * inverse);
  return out;
}

void VectorIndex::grow_for(std::size_t extra) {
  auto& h = graph_->hnsw;
  const std::size_t needed = h.cur_element_count + extra;
  if (needed <= h.max_elements_) return;
  h.resizeIndex(std::max(needed, h.max_elements_ * 2));
}

Status VectorIndex::add(std::uint64_t key, std::span<const float> vector) {
  auto v = normalised(vector);
  if (!v) return std::unexpected(v.error());
  std::unique_lock lock(mu_);
  grow_for(1);
  graph_->insert(key, v->data());
  return {};
}

Status VectorIndex::add_batch(std::span<const std::uint64_t> keys, std::span<const float> vectors, unsigned threads) {
  if (vectors.size() != keys.size() * dimension_) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} floats for {} keys of dimension {}", vectors.size(), keys.size(), dimension_));
  }
  // The last vector given for a key wins; every vector is checked before anything is added.
  std::unordered_map<std::uint64_t, std::size_t> last;
  last.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) last[keys[i]] = i;
  std::vector<float> flat(vectors.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto v = normalised(vectors.subspan(i * dimension_, dimension_));
    if (!v) return std::unexpected(v.error().with_context(fmt::format("key {}", keys[i])));
    std::copy(v->begin(), v->end(), flat.begin() + static_cast<std::ptrdiff_t>(i * dimension_));
  }

  std::unique_lock lock(mu_);
  auto& g = *graph_;
  std::vector<std::size_t> fresh;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (last[keys[i]] != i) continue;
    if (g.hnsw.label_lookup_.contains(keys[i])) {
      g.insert(keys[i], flat.data() + i * dimension_);
    } else {
      fresh.push_back(i);
    }
  }
  grow_for(fresh.size());
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t n = next++; n < fresh.size(); n = next++) {
      const std::size_t i = fresh[n];
      g.hnsw.addPoint(flat.data() + i * dimension_, keys[i], -1);
    }
  };
  const unsigned helpers =
      std::min<std::size_t>(std::max(threads, 1U), std::max<std::size_t>(fresh.size() / 256, 1)) - 1;
  std::vector<std::jthread> pool;
  pool.reserve(helpers);
  for (unsigned t = 0; t < helpers; ++t) pool.emplace_back(worker);
  worker();
  pool.clear();
  for (const std::size_t i : fresh) g.count_levels(g.hnsw.label_lookup_.at(keys[i]));
  return {};
}

bool VectorIndex::remove(std::uint64_t key) {
  std::unique_lock lock(mu_);
  auto& h = graph_->hnsw;
  const auto it = h.label_lookup_.find(key);
  if (it == h.label_lookup_.end() || h.isMarkedDeleted(it->second)) return false;
  h.markDeletedInternal(it->second);
  if (h.num_deleted_ >= settings_.compact_min_deleted && h.num_deleted_ > graph_->live()) rebuild();
  return true;
}

void VectorIndex::rebuild() {
  const auto& old = graph_->hnsw;
  const std::size_t live = graph_->live();
  auto fresh = std::make_unique<Graph>(dimension_, settings_, std::max(live + live / 4, settings_.initial_capacity));
  for (tableint id = 0; id < old.cur_element_count; ++id) {
    if (old.isMarkedDeleted(id)) continue;
    fresh->insert(old.getExternalLabel(id), reinterpret_cast<const float*>(old.getDataByInternalId(id)));
  }
  graph_ = std::move(fresh);
}

bool VectorIndex::contains(std::uint64_t key) const {
  std::shared_lock lock(mu_);
  const auto& h = graph_->hnsw;
  const auto it = h.label_lookup_.find(key);
  return it != h.label_lookup_.end() && !h.isMarkedDeleted(it->second);
}

std::optional<std::vector<float>> VectorIndex::vector_of(std::uint64_t key) const {
  std::shared_lock lock(mu_);
  const auto& h = graph_->hnsw;
  const auto it = h.label_lookup_.find(key);
  if (it == h.label_lookup_.end() || h.isMarkedDeleted(it->second)) return std::nullopt;
  const auto* data = reinterpret_cast<const float*>(h.getDataByInternalId(it->second));
  return std::vector<float>(data, data + dimension_);
}

Result<std::vector<VectorHit>> VectorIndex::search(std::span<const float> query, std::size_t k,
                                                   const KeyFilter* filter) const {
  auto q = normalised(query);
  if (!q) return std::unexpected(q.error());
  std::shared_lock lock(mu_);
  const auto& h = graph_->hnsw;
  if (k == 0 || graph_->live() == 0) return std::vector<VectorHit>{};
  auto top = walk_base_layer(h, descend(h, q->data()), q->data(), std::max(settings_.ef_search, k), filter);
  return drain(h, top, k);
}

Result<std::vector<VectorHit>> VectorIndex::search_exact(std::span<const float> query, std::size_t k,
                                                         const KeyFilter* filter) const {
  auto q = normalised(query);
  if (!q) return std::unexpected(q.error());
  std::shared_lock lock(mu_);
  const auto& h = graph_->hnsw;
  MaxHeap top;
  if (k == 0) return std::vector<VectorHit>{};
  for (tableint id = 0; id < h.cur_element_count; ++id) {
    if (h.isMarkedDeleted(id)) continue;
    if (filter != nullptr && !filter->allowed(h.getExternalLabel(id))) continue;
    const float d = h.fstdistfunc_(q->data(), h.getDataByInternalId(id), h.dist_func_param_);
    if (top.size() < k || d < top.top().first) {
      top.emplace(d, id);
      if (top.size() > k) top.pop();
    }
  }
  return drain(h, top, k);
}

Result<std::vector<VectorHit>> VectorIndex::search_keys(std::span<const float> query,
                                                        std::span<const std::uint64_t> keys, std::size_t k) const {
  auto q = normalised(query);
  if (!q) return std::unexpected(q.error());
  std::shared_lock lock(mu_);
  const auto& h = graph_->hnsw;
  MaxHeap top;
  if (k == 0) return std::vector<VectorHit>{};
  for (const std::uint64_t key : keys) {
    const auto it = h.label_lookup_.find(key);
    if (it == h.label_lookup_.end() || h.isMarkedDeleted(it->second)) continue;
    const float d = h.fstdistfunc_(q->data(), h.getDataByInternalId(it->second), h.dist_func_param_);
    if (top.size() < k || d < top.top().first) {
      top.emplace(d, it->second);
      if (top.size() > k) top.pop();
    }
  }
  return drain(h, top, k);
}

std::size_t VectorIndex::size() const {
  std::shared_lock lock(mu_);
  return graph_->live();
}

std::size_t VectorIndex::capacity() const {
  std::shared_lock lock(mu_);
  return graph_->hnsw.max_elements_;
}

std::size_t VectorIndex::memory_bytes() const {
  std::shared_lock lock(mu_);
  const auto& h = graph_->hnsw;
  const std::size_t slots = h.max_elements_;
  std::size_t bytes = slots * (h.size_data_per_element_ + sizeof(void*) + sizeof(int) + sizeof(std::mutex));
  bytes += slots * sizeof(hnswlib::vl_type);  // one visited list (one more per concurrent search)
  bytes += h.link_list_update_locks_.size() * sizeof(std::mutex);
  bytes += graph_->upper_link_bytes;
  // unordered_map node: next pointer + (label, id) pair, one malloc each; plus the bucket array.
  bytes +=
      h.label_lookup_.size() * (sizeof(void*) + 16 + kMallocOverhead) + h.label_lookup_.bucket_count() * sizeof(void*);
  return bytes;
}

}  // namespace earshot::rag

#include "earshot/rag/keyword_index.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <queue>

#include "earshot/rag/tokenizer.hpp"

namespace earshot::rag {

namespace {

constexpr std::size_t kMallocOverhead = 16;

// Distinct indexable terms of `text` with their counts, and the indexable length.
std::unordered_map<std::string, std::uint32_t> term_counts(std::string_view text, std::uint32_t& length) {
  std::unordered_map<std::string, std::uint32_t> counts;
  length = 0;
  for (auto& token : tokenize(text)) {
    if (is_stop_word(token)) continue;
    ++counts[std::move(token)];
    ++length;
  }
  return counts;
}

}  // namespace

void KeywordIndex::add(std::uint64_t key, std::string_view text) {
  std::uint32_t length = 0;
  const auto counts = term_counts(text, length);
  std::unique_lock lock(mu_);
  remove_locked(key);
  const auto doc = static_cast<std::uint32_t>(docs_.size());
  docs_.push_back({.key = key, .length = length, .live = true});
  by_key_[key] = doc;
  live_length_ += length;
  for (const auto& [term, tf] : counts) {
    auto [it, fresh] = term_ids_.try_emplace(term, static_cast<std::uint32_t>(postings_.size()));
    if (fresh) {
      postings_.emplace_back();
      if (term.size() >= 16) term_bytes_ += term.size() + 1 + kMallocOverhead;  // beyond the inline buffer
    }
    postings_[it->second].push_back({.doc = doc, .tf = tf});  // docs only grow: stays sorted
  }
}

bool KeywordIndex::remove(std::uint64_t key) {
  std::unique_lock lock(mu_);
  if (!by_key_.contains(key)) return false;
  remove_locked(key);
  if (removed_ >= compact_min_removed_ && removed_ * 4 >= docs_.size()) compact();
  return true;
}

void KeywordIndex::remove_locked(std::uint64_t key) {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  auto& doc = docs_[it->second];
  doc.live = false;
  live_length_ -= doc.length;
  ++removed_;
  by_key_.erase(it);
}

void KeywordIndex::compact() {
  std::vector<std::uint32_t> renumber(docs_.size(), 0);
  std::vector<Doc> docs;
  docs.reserve(docs_.size() - removed_);
  for (std::size_t i = 0; i < docs_.size(); ++i) {
    if (!docs_[i].live) continue;
    renumber[i] = static_cast<std::uint32_t>(docs.size());
    docs.push_back(docs_[i]);
  }
  for (auto& list : postings_) {
    std::erase_if(list, [&](const Posting& p) { return !docs_[p.doc].live; });
    for (auto& p : list) p.doc = renumber[p.doc];
    list.shrink_to_fit();
  }
  // Terms left without postings keep their (empty) slot; they cost only their name.
  docs_ = std::move(docs);
  for (std::size_t i = 0; i < docs_.size(); ++i) by_key_[docs_[i].key] = static_cast<std::uint32_t>(i);
  removed_ = 0;
}

std::vector<KeywordHit> KeywordIndex::search(std::string_view query, std::size_t k, const KeyFilter* filter) const {
  auto tokens = tokenize(query);
  std::erase_if(tokens, [](const std::string& t) { return is_stop_word(t); });
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());

  std::shared_lock lock(mu_);
  const std::size_t live = by_key_.size();
  if (k == 0 || live == 0 || tokens.empty()) return {};
  const double n = static_cast<double>(live);
  const double average_length = std::max(1.0, static_cast<double>(live_length_) / n);

  // Dense accumulators, reused by the thread (zeroed again through `touched` at the end).
  thread_local std::vector<float> scores;
  thread_local std::vector<std::uint32_t> touched;
  if (scores.size() < docs_.size()) scores.resize(docs_.size(), 0.0F);
  touched.clear();
  for (const auto& term : tokens) {
    const auto it = term_ids_.find(term);
    if (it == term_ids_.end()) continue;
    const auto& list = postings_[it->second];
    if (list.empty()) continue;
    const double df = static_cast<double>(list.size());
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (const auto& p : list) {
      const auto& doc = docs_[p.doc];
      if (!doc.live) continue;
      const double tf = p.tf;
      const double norm = kK1 * (1.0 - kB + kB * static_cast<double>(doc.length) / average_length);
      if (scores[p.doc] == 0.0F) touched.push_back(p.doc);
      scores[p.doc] += static_cast<float>(idf * tf * (kK1 + 1.0) / (tf + norm));
    }
  }

  using Entry = std::pair<float, std::uint32_t>;  // min-heap on score: the weakest on top
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> top;
  for (const std::uint32_t doc : touched) {
    const float s = scores[doc];
    if (top.size() == k && !(s > top.top().first)) continue;
    if (filter != nullptr && !filter->allowed(docs_[doc].key)) continue;
    top.emplace(s, doc);
    if (top.size() > k) top.pop();
  }
  for (const std::uint32_t doc : touched) scores[doc] = 0.0F;
  std::vector<KeywordHit> hits(top.size());
  for (std::size_t i = hits.size(); i-- > 0;) {
    hits[i] = {.key = docs_[top.top().second].key, .score = top.top().first};
    top.pop();
  }
  return hits;
}

bool KeywordIndex::contains(std::uint64_t key) const {
  std::shared_lock lock(mu_);
  return by_key_.contains(key);
}

std::size_t KeywordIndex::size() const {
  std::shared_lock lock(mu_);
  return by_key_.size();
}

std::size_t KeywordIndex::memory_bytes() const {
  std::shared_lock lock(mu_);
  std::size_t bytes = docs_.capacity() * sizeof(Doc);
  bytes += by_key_.size() * (sizeof(void*) + 16 + kMallocOverhead) + by_key_.bucket_count() * sizeof(void*);
  bytes += term_ids_.size() * (sizeof(void*) + sizeof(std::string) + 8 + kMallocOverhead) +
           term_ids_.bucket_count() * sizeof(void*) + term_bytes_;
  bytes += postings_.capacity() * sizeof(std::vector<Posting>);
  for (const auto& list : postings_)
    bytes += list.capacity() * sizeof(Posting) + (list.capacity() > 0 ? kMallocOverhead : 0);
  return bytes;
}

}  // namespace earshot::rag

#include "earshot/rag/registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "test_env.hpp"

namespace earshot::rag {
namespace {

using namespace std::chrono_literals;

RegistrySettings budget(std::size_t bytes) {
  RegistrySettings s;
  s.memory_budget_bytes = bytes;
  return s;
}

SourceChunk row(std::int64_t id, std::int64_t call_id, std::string text, std::vector<float> v) {
  return {.key = call_chunk_key(id),
          .source = Source::kCall,
          .owner_id = call_id,
          .chunk_index = 0,
          .start_ms = 0,
          .end_ms = 1000,
          .text = std::move(text),
          .vector = std::move(v)};
}

// Rows per (bid, model); counts what the registry asks; can hold scans until released and fail
// the next scan.
class FakeChunkSource final : public ChunkSource {
 public:
  // The page is read when the scan starts; a held scan then waits to return it.
  Result<std::vector<SourceChunk>> scan_calls(const std::string& bid, std::string_view model, std::int64_t after_id,
                                              std::size_t limit) override {
    std::unique_lock lock(mu_);
    ++scans_[bid];
    if (fail_next_) {
      fail_next_ = false;
      return make_error(ErrorCode::kUnavailable, "mysql: connection refused");
    }
    std::vector<SourceChunk> page;
    for (const auto& r : rows_[{bid, std::string(model)}]) {
      if (key_row_id(r.key) > after_id && page.size() < limit) page.push_back(r);
    }
    released_cv_.wait(lock, [&] { return released_; });
    return page;
  }
  Result<std::vector<SourceChunk>> scan_knowledge(const std::string&, std::string_view, std::int64_t,
                                                  std::size_t) override {
    return std::vector<SourceChunk>{};
  }
  Result<std::vector<SourceChunk>> call_rows(const std::string& bid, std::string_view model,
                                             std::int64_t call_id) override {
    std::lock_guard lock(mu_);
    ++call_rows_[{bid, std::string(model)}];
    std::vector<SourceChunk> out;
    for (const auto& r : rows_[{bid, std::string(model)}]) {
      if (r.owner_id == call_id) out.push_back(r);
    }
    return out;
  }
  Result<std::vector<SourceChunk>> document_rows(const std::string&, std::string_view, std::int64_t) override {
    return std::vector<SourceChunk>{};
  }

  void put(const std::string& bid, const std::string& model, SourceChunk r) {
    std::lock_guard lock(mu_);
    rows_[{bid, model}].push_back(std::move(r));
  }
  void drop_call(const std::string& bid, const std::string& model, std::int64_t call_id) {
    std::lock_guard lock(mu_);
    std::erase_if(rows_[{bid, model}], [&](const SourceChunk& r) { return r.owner_id == call_id; });
  }
  void hold() {
    std::lock_guard lock(mu_);
    released_ = false;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    released_cv_.notify_all();
  }
  void fail_next() {
    std::lock_guard lock(mu_);
    fail_next_ = true;
  }
  int scans(const std::string& bid) {
    std::lock_guard lock(mu_);
    return scans_[bid];
  }
  int call_rows_asked(const std::string& bid, const std::string& model) {
    std::lock_guard lock(mu_);
    return call_rows_[{bid, model}];
  }

 private:
  std::mutex mu_;
  std::condition_variable released_cv_;
  bool released_ = true;
  bool fail_next_ = false;
  std::map<std::pair<std::string, std::string>, std::vector<SourceChunk>> rows_;
  std::map<std::string, int> scans_;
  std::map<std::pair<std::string, std::string>, int> call_rows_;
};

class IndexRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int b = 1; b <= 3; ++b) {
      const std::string bid = "b" + std::to_string(b);
      source.put(bid, "m", row(b * 10 + 1, 100, "refund router", {1, 0, 0}));
      source.put(bid, "m", row(b * 10 + 2, 101, "weather today", {0, 1, 0}));
      source.put(bid, "m", row(b * 10 + 3, 102, "holiday hours", {0, 0, 1}));
    }
  }
  FakeChunkSource source;
  testing::FakeClock clock;
};

TEST_F(IndexRegistryTest, ConcurrentFirstUsesShareOneLoad) {
  RegistrySettings paged;
  paged.page_size = 2;
  IndexRegistry registry(source, clock, paged);
  source.hold();
  std::atomic<int> asking{0};
  std::vector<std::shared_ptr<BusinessIndex>> got(6);
  std::vector<std::jthread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      ++asking;
      auto index = registry.get("b1", "m");
      if (index) got[t] = *index;
    });
  }
  ASSERT_TRUE(testing::wait_until([&] { return source.scans("b1") >= 1 && asking == 6; }, 10s, 1ms));
  source.release();
  threads.clear();
  // Three rows in pages of two: two scan pages, one load.
  EXPECT_EQ(source.scans("b1"), 2);
  for (const auto& index : got) {
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(index, got.front());
  }
  EXPECT_EQ(got.front()->chunk_count(), 3U);
}

TEST_F(IndexRegistryTest, AFailedLoadIsNotCached) {
  Metrics metrics("rag-registry-test", "0", "test");
  IndexRegistry registry(source, clock, {}, &metrics);
  source.fail_next();
  const auto failed = registry.get("b1", "m");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(registry.loaded("b1", "m"));
  const auto loaded = registry.get("b1", "m");
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->chunk_count(), 3U);
  EXPECT_EQ(source.scans("b1"), 2);
  const auto text = metrics.serialize();
  EXPECT_NE(text.find("earshot_rag_index_loads_total{outcome=\"failed\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("earshot_rag_index_loads_total{outcome=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(text.find("earshot_rag_index_shards 1"), std::string::npos);
}

TEST_F(IndexRegistryTest, EvictionKeepsShardsInUseAndTheRecentlyUsed) {
  std::size_t one = 0;
  {
    IndexRegistry probe(source, clock, {});
    ASSERT_TRUE(probe.get("b1", "m"));
    one = probe.memory_bytes();
  }
  ASSERT_GT(one, 0U);
  Metrics metrics("rag-registry-test", "0", "test");
  IndexRegistry registry(source, clock, budget(one * 2 + one / 2), &metrics);
  ASSERT_TRUE(registry.get("b1", "m"));
  clock.advance(1s);
  ASSERT_TRUE(registry.get("b2", "m"));
  clock.advance(1s);
  ASSERT_TRUE(registry.get("b1", "m"));  // 1 is now the more recent
  clock.advance(1s);
  ASSERT_TRUE(registry.get("b3", "m"));  // over budget: 2, the least recently used, goes
  EXPECT_TRUE(registry.loaded("b1", "m"));
  EXPECT_FALSE(registry.loaded("b2", "m"));
  EXPECT_TRUE(registry.loaded("b3", "m"));
  EXPECT_NE(metrics.serialize().find("earshot_rag_index_evictions_total 1"), std::string::npos);

  IndexRegistry tight(source, clock, budget(1));
  auto held = tight.get("b1", "m");
  ASSERT_TRUE(held);
  clock.advance(1s);
  ASSERT_TRUE(tight.get("b2", "m"));  // 1 is older but in use: it stays
  EXPECT_TRUE(tight.loaded("b1", "m"));
  held = std::unexpected(Error(ErrorCode::kInternal, "let go"));
  clock.advance(1s);
  ASSERT_TRUE(tight.get("b3", "m"));  // nobody holds 1 or 2 now
  EXPECT_FALSE(tight.loaded("b1", "m"));
  EXPECT_FALSE(tight.loaded("b2", "m"));
  EXPECT_TRUE(tight.loaded("b3", "m"));
  EXPECT_EQ(tight.shard_count(), 1U);
}

TEST_F(IndexRegistryTest, RefreshUpdatesLoadedShardsOfEveryModelAndSkipsOthers) {
  source.put("b1", "other", row(91, 100, "refund router", {0, 1}));
  IndexRegistry registry(source, clock, {});
  auto index = registry.get("b1", "m");
  auto other = registry.get("b1", "other");
  ASSERT_TRUE(index && other);

  source.put("b1", "m", row(50, 105, "escalation supervisor", {0.5F, 0.5F, 0}));
  ASSERT_TRUE(registry.refresh_call("b1", 105));
  EXPECT_EQ(source.call_rows_asked("b1", "m"), 1);
  EXPECT_EQ(source.call_rows_asked("b1", "other"), 1);  // every loaded model of the business
  auto hits = (*index)->search("supervisor", {}, {});
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1U);
  EXPECT_EQ(hits->front().meta.owner_id, 105);

  ASSERT_TRUE(registry.refresh_call("b2", 105));  // business 2 is not loaded: nothing to read
  EXPECT_EQ(source.call_rows_asked("b2", "m"), 0);
  EXPECT_FALSE(registry.loaded("b2", "m"));

  source.drop_call("b1", "m", 100);
  ASSERT_TRUE(registry.refresh_call("b1", 100));  // gone from the database: gone from the shard
  EXPECT_TRUE((*index)->search("refund router", {}, {})->empty());
  EXPECT_EQ((*other)->chunk_count(), 1U);  // "other" still has call 100's row in its model

  registry.forget_call("b1", 105);
  EXPECT_TRUE((*index)->search("supervisor", {}, {})->empty());
}

TEST_F(IndexRegistryTest, AnUpdateDuringTheLoadIsAppliedBeforeTheShardIsSeen) {
  IndexRegistry registry(source, clock, {});
  source.hold();
  std::shared_ptr<BusinessIndex> got;
  std::jthread loader([&] {
    auto index = registry.get("b1", "m");
    if (index) got = *index;
  });
  ASSERT_TRUE(testing::wait_until([&] { return source.scans("b1") >= 1; }, 10s, 1ms));
  source.put("b1", "m", row(60, 106, "cancellation fee", {0, 1, 1}));
  ASSERT_TRUE(registry.refresh_call("b1", 106));  // queued on the loading shard
  source.release();
  loader.join();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->chunk_count(), 4U);
  EXPECT_EQ(got->search("cancellation", {}, {})->size(), 1U);
}

TEST_F(IndexRegistryTest, ForgetAllMakesTheNextUseReadTheDatabaseAgain) {
  IndexRegistry registry(source, clock, {});
  auto held = registry.get("b1", "m");
  ASSERT_TRUE(held && registry.get("b2", "m"));
  EXPECT_EQ(registry.shard_count(), 2U);
  // A row written while updates were missed: the loaded shard does not have it.
  source.put("b1", "m", row(60, 106, "missed escalation", {0.5F, 0.5F, 0}));
  EXPECT_TRUE((*held)->search("missed escalation", {}, {})->empty());

  registry.forget_all();
  EXPECT_EQ(registry.shard_count(), 0U);
  EXPECT_FALSE(registry.loaded("b1", "m"));
  EXPECT_EQ((*held)->chunk_count(), 3U);  // the holder's shard stays usable

  const int scans_before = source.scans("b1");
  auto fresh = registry.get("b1", "m");
  ASSERT_TRUE(fresh);
  EXPECT_GT(source.scans("b1"), scans_before);
  auto hits = (*fresh)->search("missed escalation", {}, {});
  ASSERT_TRUE(hits);
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().meta.owner_id, 106);
}

}  // namespace
}  // namespace earshot::rag

// rag_bench: the retrieval core of libs/rag at scale, without a database: build time, memory
// and search latency/throughput of BusinessIndex shards holding N synthetic chunks, in one
// business and spread over B businesses (the registry keeps one shard per business).
//
// Data: vectors are random and normalised, drawn around `--topics` random topic directions
// (cosine about 0.7 to their topic; --topics 0: isotropic random, the worst case for a graph
// index and nothing like text embeddings); one whole-call vector per 20 chunks. Chunk text is
// `--words` words drawn from a Zipf (s = 1) vocabulary of `--vocabulary` synthetic words.
// Queries: a vector from the same distribution and 4 words drawn from the same Zipf law past
// its 100 most frequent words (those stand for the stop words a real query loses).
//
// Modes: vector (HNSW k-NN), keyword (BM25), hybrid (both, fused); k 10, each list 30 deep.
// Latency is per search; searches/s is the total over the threads' wall time. Vector recall@10
// against a 2000-deep search is printed for a sample of queries, at each --recall-ef beam width.
//
// Usage: rag_bench [--chunks 1000000] [--dims 256,768] [--businesses 50] [--layouts one,spread]
//                  [--queries 2000] [--threads 1,2] [--build-threads 2] [--topics 2000]
//                  [--words 100] [--vocabulary 50000] [--seed 1] [--recall-ef 64,128,256]
//                  [--ef-search 128]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/bench_common.hpp"
#include "earshot/rag/business_index.hpp"

namespace {

using namespace earshot::rag;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::size_t chunks = 1'000'000;
  std::vector<std::size_t> dims{256, 768};
  std::size_t businesses = 50;
  std::vector<std::string> layouts{"one", "spread"};
  std::size_t queries = 2000;
  std::vector<std::size_t> threads{1, 2};
  unsigned build_threads = 2;
  std::size_t topics = 2000;
  std::size_t words = 100;
  std::size_t vocabulary = 50'000;
  std::uint64_t seed = 1;
  std::vector<std::size_t> recall_ef{64, 128, 256};
  std::size_t ef_search = VectorIndexSettings{}.ef_search;  // the shards' beam (the index's default)
};

using earshot::bench::split;
using earshot::bench::split_numbers;

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "rag_bench: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--chunks")
      o.chunks = std::stoul(value());
    else if (flag == "--dims")
      o.dims = split_numbers(value());
    else if (flag == "--businesses")
      o.businesses = std::stoul(value());
    else if (flag == "--layouts")
      o.layouts = split(value());
    else if (flag == "--queries")
      o.queries = std::stoul(value());
    else if (flag == "--threads")
      o.threads = split_numbers(value());
    else if (flag == "--ef-search")
      o.ef_search = std::stoul(value());
    else if (flag == "--recall-ef")
      o.recall_ef = split_numbers(value());
    else if (flag == "--build-threads")
      o.build_threads = static_cast<unsigned>(std::stoul(value()));
    else if (flag == "--topics")
      o.topics = std::stoul(value());
    else if (flag == "--words")
      o.words = std::stoul(value());
    else if (flag == "--vocabulary")
      o.vocabulary = std::stoul(value());
    else if (flag == "--seed")
      o.seed = std::stoull(value());
    else {
      std::cerr << "rag_bench: unknown flag " << flag << " (see the head of bench/rag/rag_bench.cpp)\n";
      std::exit(2);
    }
  }
  return o;
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one.empty() ? "unknown" : one + " " + five + " " + fifteen;
}

std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// Synthetic words and a Zipf sampler over their ranks.
class Vocabulary {
 public:
  Vocabulary(std::size_t size, std::mt19937_64& rng) {
    static constexpr std::string_view kSyllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa",
                                                      "do", "fe", "gu", "hi", "ja", "ko", "li", "mo", "nu", "po"};
    std::unordered_set<std::string> seen;
    while (words_.size() < size) {
      std::string w;
      const std::size_t syllables = 2 + rng() % 3;
      for (std::size_t s = 0; s < syllables; ++s) w += kSyllables[rng() % std::size(kSyllables)];
      if (seen.insert(w).second) words_.push_back(std::move(w));
    }
    cdf_.resize(size);
    double sum = 0;
    for (std::size_t r = 0; r < size; ++r) cdf_[r] = sum += 1.0 / static_cast<double>(r + 1);
    for (auto& c : cdf_) c /= sum;
  }
  // A rank drawn from the Zipf law, at least `from`.
  const std::string& draw(std::mt19937_64& rng, std::size_t from = 0) const {
    const double low = from == 0 ? 0.0 : cdf_[from - 1];
    const double u = low + std::uniform_real_distribution<double>(0.0, 1.0)(rng) * (1.0 - low);
    const auto rank = static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    return words_[std::min(rank, words_.size() - 1)];
  }

 private:
  std::vector<std::string> words_;
  std::vector<double> cdf_;
};

class VectorSource {
 public:
  VectorSource(std::size_t dimension, std::size_t topics, std::mt19937_64& rng) : dimension_(dimension) {
    for (std::size_t i = 0; i < topics; ++i) topics_.push_back(unit(rng));
  }
  std::vector<float> next(std::mt19937_64& rng) const {
    auto v = unit(rng);
    if (!topics_.empty()) {
      const auto& topic = topics_[rng() % topics_.size()];
      for (std::size_t j = 0; j < dimension_; ++j) v[j] += topic[j];
    }
    return v;
  }

 private:
  std::vector<float> unit(std::mt19937_64& rng) const {
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::vector<float> v(dimension_);
    double norm = 0;
    for (auto& x : v) {
      x = normal(rng);
      norm += static_cast<double>(x) * x;
    }
    for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
    return v;
  }
  std::size_t dimension_;
  std::vector<std::vector<float>> topics_;
};

struct Query {
  std::size_t shard;
  std::string text;
  std::vector<float> vector;
};

struct Stats {
  double p50_ms = 0, p99_ms = 0, per_second = 0;
};

enum class Mode { kVector, kKeyword, kHybrid };

Stats run(const std::vector<std::unique_ptr<BusinessIndex>>& shards, const std::vector<Query>& queries, Mode mode,
          std::size_t threads) {
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> failures{0};
  const auto t0 = SteadyClock::now();
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        SearchOptions options;
        options.k = 10;
        for (std::size_t i = next++; i < queries.size(); i = next++) {
          const auto& q = queries[i];
          const auto start = SteadyClock::now();
          const std::string_view text = mode == Mode::kVector ? std::string_view() : std::string_view(q.text);
          const std::span<const float> vector =
              mode == Mode::kKeyword ? std::span<const float>() : std::span<const float>(q.vector);
          const auto hits = shards[q.shard]->search(text, vector, options);
          latencies[t].push_back(seconds_since(start) * 1000.0);
          if (!hits || hits->empty()) ++failures;
        }
      });
    }
  }
  const double wall = seconds_since(t0);
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const auto at = [&](double q) {
    return all[std::min(all.size() - 1, static_cast<std::size_t>(q * static_cast<double>(all.size())))];
  };
  if (failures > 0) std::cout << fmt::format("    ({} searches failed or found nothing)\n", failures.load());
  return {.p50_ms = at(0.50), .p99_ms = at(0.99), .per_second = static_cast<double>(all.size()) / wall};
}

void bench_layout(const Options& o, std::size_t dimension, std::size_t businesses) {
  std::mt19937_64 rng(o.seed);
  const Vocabulary vocabulary(o.vocabulary, rng);
  const VectorSource vectors(dimension, o.topics, rng);
  std::cout << fmt::format("\n== {} chunks, {}-d, {} business{} (load average {}) ==\n", o.chunks, dimension,
                           businesses, businesses == 1 ? "" : "es", load_average());

  const std::size_t rss_before = rss_bytes();
  std::vector<std::unique_ptr<BusinessIndex>> shards;
  for (std::size_t b = 0; b < businesses; ++b) {
    VectorIndexSettings settings;
    settings.ef_search = o.ef_search;
    shards.push_back(std::make_unique<BusinessIndex>(settings, o.build_threads));
  }
  const std::size_t per_shard = (o.chunks + businesses - 1) / businesses;
  constexpr std::size_t kPage = 5000;  // rows a registry load adds at once
  constexpr std::size_t kChunksPerCall = 20;
  const auto t0 = SteadyClock::now();
  std::int64_t row_id = 0;
  for (std::size_t b = 0; b < businesses; ++b) {
    std::size_t done = 0;
    while (done < per_shard) {
      std::vector<SourceChunk> page;
      for (std::size_t i = 0; i < kPage && done < per_shard; ++i, ++done) {
        const auto call_id =
            static_cast<std::int64_t>(b * per_shard + done) / static_cast<std::int64_t>(kChunksPerCall);
        const auto chunk_index = static_cast<std::int64_t>(done % kChunksPerCall);
        if (chunk_index == 0) {
          page.push_back({.key = call_chunk_key(++row_id),
                          .source = Source::kCall,
                          .owner_id = call_id,
                          .chunk_index = -1,
                          .start_ms = 0,
                          .end_ms = 0,
                          .text = {},
                          .vector = vectors.next(rng)});
        }
        std::string text;
        for (std::size_t w = 0; w < o.words; ++w) {
          if (w != 0) text += ' ';
          text += vocabulary.draw(rng);
        }
        page.push_back({.key = call_chunk_key(++row_id),
                        .source = Source::kCall,
                        .owner_id = call_id,
                        .chunk_index = chunk_index,
                        .start_ms = chunk_index * 15000,
                        .end_ms = chunk_index * 15000 + 15000,
                        .text = std::move(text),
                        .vector = vectors.next(rng)});
      }
      if (auto s = shards[b]->add_rows(page); !s) {
        std::cerr << "rag_bench: add_rows: " << s.error().to_string() << "\n";
        std::exit(1);
      }
    }
  }
  const double build = seconds_since(t0);
  std::size_t bytes = 0;
  std::size_t chunks = 0;
  for (const auto& s : shards) {
    bytes += s->memory_bytes();
    chunks += s->chunk_count();
  }
  const std::size_t rss_after = rss_bytes();
  std::cout << fmt::format("build: {:.1f} s ({:.0f} chunks/s, {} build threads)\n", build,
                           static_cast<double>(chunks) / build, o.build_threads);
  std::cout << fmt::format("memory: memory_bytes {:.0f} MiB ({:.0f} B/chunk), RSS growth {:.0f} MiB ({:.0f} B/chunk)\n",
                           mib(bytes), static_cast<double>(bytes) / static_cast<double>(chunks),
                           mib(rss_after - rss_before),
                           static_cast<double>(rss_after - rss_before) / static_cast<double>(chunks));

  std::vector<Query> queries;
  for (std::size_t i = 0; i < o.queries; ++i) {
    Query q{.shard = rng() % businesses, .text = {}, .vector = vectors.next(rng)};
    for (int w = 0; w < 4; ++w) q.text += (w == 0 ? "" : " ") + vocabulary.draw(rng, 100);
    queries.push_back(std::move(q));
  }

  // Vector recall@10 on a sample, against the same search 2000 deep (ef 2000: as good as exact
  // at these sizes, without keeping a copy of the vectors for a scan). The walk's beam is
  // max(ef_search, depth), so a search `ef` deep cut to its best 10 is the index at that ef
  // (an ef below --ef-search is measured as --ef-search). Each line also gives the vector
  // search's own latency at that depth (one thread).
  const std::size_t sample = std::min<std::size_t>(200, queries.size());
  std::vector<std::unordered_set<std::uint64_t>> truth(sample);
  for (std::size_t i = 0; i < sample; ++i) {
    SearchOptions options;
    options.k = 10;
    options.depth = 2000;
    const auto& q = queries[i];
    if (auto deep = shards[q.shard]->search({}, q.vector, options); deep) {
      for (const auto& h : *deep) truth[i].insert(h.key);
    }
  }
  for (const std::size_t wanted : o.recall_ef) {
    const std::size_t ef = std::max(wanted, o.ef_search);
    double recall = 0;
    std::vector<double> latency;
    for (std::size_t i = 0; i < sample; ++i) {
      SearchOptions options;
      options.k = 10;
      options.depth = ef;
      const auto& q = queries[i];
      const auto started = SteadyClock::now();
      const auto approximate = shards[q.shard]->search({}, q.vector, options);
      latency.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count());
      if (!approximate) continue;
      std::size_t found = 0;
      for (std::size_t h = 0; h < std::min<std::size_t>(10, approximate->size()); ++h) {
        found += truth[i].contains((*approximate)[h].key) ? 1 : 0;
      }
      recall += static_cast<double>(found) / 10.0;
    }
    std::sort(latency.begin(), latency.end());
    std::cout << fmt::format(
        "vector recall@10 at ef {:>4} vs ef 2000 (sample of {}): {:.3f}  p50 {:.2f} ms  p99 {:.2f} ms\n", ef, sample,
        recall / static_cast<double>(sample), latency[latency.size() / 2],
        latency[std::min(latency.size() - 1, latency.size() * 99 / 100)]);
  }

  for (const auto& [mode, name] :
       {std::pair{Mode::kVector, "vector"}, std::pair{Mode::kKeyword, "keyword"}, std::pair{Mode::kHybrid, "hybrid"}}) {
    for (const std::size_t t : o.threads) {
      const auto s = run(shards, queries, mode, t);
      std::cout << fmt::format("{:<8} threads {}: p50 {:.2f} ms  p99 {:.2f} ms  {:.0f} searches/s\n", name, t, s.p50_ms,
                               s.p99_ms, s.per_second);
    }
  }
  std::cout << fmt::format("load average after: {}\n", load_average());
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::cout << std::unitbuf;  // each figure as soon as it is measured
  std::cout << fmt::format(
      "rag_bench: {} chunks, {} words a chunk, vocabulary {}, topics {}, {} queries, ef_search {}, cores {}\n",
      o.chunks, o.words, o.vocabulary, o.topics, o.queries, o.ef_search, std::thread::hardware_concurrency());
  for (const std::size_t dimension : o.dims) {
    for (const auto& layout : o.layouts) {
      bench_layout(o, dimension, layout == "one" ? 1 : o.businesses);
    }
  }
  return 0;
}

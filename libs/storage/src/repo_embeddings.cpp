// Embeddings of calls: one vector per call and one per transcript chunk.
#include <bit>
#include <cstring>

#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

namespace {

static_assert(std::endian::native == std::endian::little, "vectors are stored little-endian");

std::string pack(const std::vector<float>& v) {
  std::string out(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> unpack(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace

Status MySqlEmbeddingRepository::replace(const TenantId& t, Id call_id, const std::vector<CallEmbedding>& rows) {
  return db_.transaction([&](Connection& c) -> Status {
    if (auto st = require_call(c, t, call_id, true); !st) return st;
    auto del = c.execute("DELETE FROM call_embeddings WHERE bid = ? AND call_id = ?", {t.bid(), call_id});
    if (!del) return std::unexpected(del.error());
    for (const auto& e : rows) {
      auto ins = c.execute(
          "INSERT INTO call_embeddings (bid, call_id, chunk_index, start_ms, end_ms, text, model, "
          "dimension, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {t.bid(), call_id, e.chunk_index, e.start_ms, e.end_ms, e.text, e.model,
           static_cast<std::int64_t>(e.vector.size()), pack(e.vector)});
      if (!ins) return std::unexpected(ins.error());
    }
    return {};
  });
}

Result<std::vector<CallEmbedding>> MySqlEmbeddingRepository::list_for_call(const TenantId& t, Id call_id) {
  auto r = db_.execute(
      "SELECT chunk_index, start_ms, end_ms, text, model, vector FROM call_embeddings "
      "WHERE bid = ? AND call_id = ? ORDER BY chunk_index",
      {t.bid(), call_id});
  if (!r) return std::unexpected(r.error());
  std::vector<CallEmbedding> out;
  for (const auto& row : r->rows) {
    CallEmbedding e;
    e.chunk_index = row[0].as_int();
    e.start_ms = row[1].as_int();
    e.end_ms = row[2].as_int();
    e.text = row[3].as_string();
    e.model = row[4].as_string();
    e.vector = unpack(row[5].as_string());
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace earshot::storage

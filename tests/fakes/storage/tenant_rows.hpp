#pragma once
// The table under the in-memory repository fakes: rows of one kind keyed by a generated id,
// each owned by a business. A row of another business is never found, changed or listed
// (repositories.hpp's tenant scoping). Not synchronized: each fake holds it under its own
// mutex.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::testing {

template <class T>
class TenantRows {
 public:
  // Stores `row` under the next id (written to row.id); returns the id.
  storage::Id add(const storage::TenantId& t, T row) {
    row.id = ++next_id_;
    rows_[row.id] = Owned{t.bid(), row};
    return row.id;
  }
  // The business's row, or null.
  T* find(const storage::TenantId& t, storage::Id id) {
    auto it = rows_.find(id);
    return it == rows_.end() || it->second.bid != t.bid() ? nullptr : &it->second.row;
  }
  bool erase(const storage::TenantId& t, storage::Id id) {
    if (find(t, id) == nullptr) return false;
    rows_.erase(id);
    return true;
  }
  // The business's rows matching `keep`, by id.
  template <class Keep>
  std::vector<T> list(const storage::TenantId& t, Keep&& keep) const {
    std::vector<T> out;
    for (const auto& [id, o] : rows_) {
      if (o.bid == t.bid() && keep(o.row)) out.push_back(o.row);
    }
    return out;
  }
  std::vector<T> list(const storage::TenantId& t) const {
    return list(t, [](const T&) { return true; });
  }
  // The business's rows by name (then id), for the repositories that list so.
  std::vector<T> list_by_name(const storage::TenantId& t) const {
    auto out = list(t);
    std::stable_sort(out.begin(), out.end(), [](const T& a, const T& b) { return a.name < b.name; });
    return out;
  }
  // Whether a row of the business other than `except` has this name (unique per business).
  bool name_taken(const storage::TenantId& t, const std::string& name, storage::Id except = 0) const {
    return std::any_of(rows_.begin(), rows_.end(), [&](const auto& e) {
      return e.first != except && e.second.bid == t.bid() && e.second.row.name == name;
    });
  }

  // Create and update of a row with a name unique per business and a version that starts
  // at 1 and grows by one per update (agent configs, categories, scorecards).
  Result<storage::Id> create_versioned(const storage::TenantId& t, T row) {
    if (name_taken(t, row.name)) return make_error(ErrorCode::kAlreadyExists, "the name is taken");
    row.version = 1;
    return add(t, std::move(row));
  }
  Result<bool> update_versioned(const storage::TenantId& t, const T& row) {
    T* cur = find(t, row.id);
    if (cur == nullptr) return false;
    if (name_taken(t, row.name, row.id)) return make_error(ErrorCode::kAlreadyExists, "the name is taken");
    const auto version = cur->version + 1;
    *cur = row;
    cur->version = version;
    return true;
  }

 private:
  struct Owned {
    std::string bid;
    T row;
  };
  std::map<storage::Id, Owned> rows_;
  storage::Id next_id_ = 0;
};

}  // namespace earshot::testing

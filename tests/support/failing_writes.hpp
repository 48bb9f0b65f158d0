// Makes MariaDB refuse one business's writes to one table while the object lives: a BEFORE
// INSERT (or UPDATE) trigger that SIGNALs SQLSTATE '45000' for rows of that bid (and, when
// `condition` is given, only for rows it holds for, e.g. "NEW.status = 'analyzed'"). Tests put it
// on a table written inside a transaction to prove that a failure at that point leaves
// nothing half-written; destroying it (or drop()) lets the retry through. Header-only: any
// test linking earshot::storage can use it.
#pragma once

#include <functional>
#include <string>

#include "earshot/storage/sql.hpp"

namespace earshot::testing {

class FailingWrites {
 public:
  FailingWrites(storage::Database& db, const std::string& table, const std::string& bid,
                const std::string& event = "INSERT", const std::string& condition = "")
      : db_(db),
        name_("fail_" + std::to_string(std::hash<std::string>{}(table + "/" + event + "/" + bid + "/" + condition))) {
    // A trigger body cannot take parameters: the bid is a business id (checked to be of
    // [a-z0-9_-]) quoted as a literal.
    if (!plain(bid)) {
      error_ = "bid '" + bid + "' is not a business id";
      dropped_ = true;
      return;
    }
    auto r = db_.execute("CREATE TRIGGER " + name_ + " BEFORE " + event + " ON " + table +
                         " FOR EACH ROW BEGIN IF NEW.bid = '" + bid + "'" +
                         (condition.empty() ? std::string() : " AND (" + condition + ")") +
                         " THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'; END IF; END");
    if (!r) error_ = r.error().to_string();
  }
  ~FailingWrites() { drop(); }
  FailingWrites(const FailingWrites&) = delete;
  FailingWrites& operator=(const FailingWrites&) = delete;

  // Empty when the trigger is in place.
  [[nodiscard]] const std::string& error() const { return error_; }
  void drop() {
    if (dropped_) return;
    dropped_ = true;
    (void)db_.execute("DROP TRIGGER IF EXISTS " + name_);
  }

 private:
  static bool plain(const std::string& bid) {
    if (bid.empty()) return false;
    for (char c : bid) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    }
    return true;
  }

  storage::Database& db_;
  std::string name_;
  std::string error_;
  bool dropped_ = false;
};

}  // namespace earshot::testing

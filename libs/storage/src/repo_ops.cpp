// Sync watermarks, CRM leads, categories / scorecards, escalations, notes.
#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

// ---- watermarks --------------------------------------------------------------------------

Result<std::optional<std::string>> MySqlWatermarkRepository::get(const TenantId& t, std::string_view source) {
  auto r = db_.execute("SELECT position FROM sync_watermarks WHERE bid = ? AND source = ?", {t.bid(), source});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<std::string>();
  return r->rows[0][0].opt_string();
}

Status MySqlWatermarkRepository::put(const TenantId& t, std::string_view source, std::string_view position) {
  auto r = db_.execute(
      "INSERT INTO sync_watermarks (bid, source, position) VALUES (?, ?, ?) "
      "ON DUPLICATE KEY UPDATE position = VALUES(position)",
      {t.bid(), source, position});
  if (!r) return std::unexpected(r.error());
  return {};
}

// ---- CRM leads ---------------------------------------------------------------------------

Status MySqlCrmLeadRepository::upsert(const TenantId& t, const CrmLead& l) {
  auto r = db_.execute(
      "INSERT INTO crm_leads (bid, phone, lead_id, fields, modified_at) VALUES (?, ?, ?, ?, ?) "
      "ON DUPLICATE KEY UPDATE "
      "phone = IF(VALUES(modified_at) >= modified_at, VALUES(phone), phone), "
      "fields = IF(VALUES(modified_at) >= modified_at, VALUES(fields), fields), "
      "modified_at = GREATEST(modified_at, VALUES(modified_at))",
      {t.bid(), l.phone, l.lead_id, l.fields_json, l.modified_at});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::optional<CrmLead>> MySqlCrmLeadRepository::find_by_phone(const TenantId& t, std::string_view phone) {
  auto r = db_.execute(
      "SELECT id, phone, lead_id, fields, modified_at FROM crm_leads WHERE bid = ? AND "
      "phone = ? ORDER BY modified_at DESC, id DESC LIMIT 1",
      {t.bid(), phone});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<CrmLead>();
  const auto& row = r->rows[0];
  return std::optional<CrmLead>(
      CrmLead{row[0].as_int(), row[1].as_string(), row[2].as_string(), row[3].as_string(), row[4].as_time()});
}

Result<bool> MySqlCrmLeadRepository::remove(const TenantId& t, std::string_view lead_id) {
  return matched(db_.execute("DELETE FROM crm_leads WHERE bid = ? AND lead_id = ?", {t.bid(), lead_id}));
}

Result<std::int64_t> MySqlCrmLeadRepository::count(const TenantId& t) {
  auto r = db_.execute("SELECT COUNT(*) FROM crm_leads WHERE bid = ?", {t.bid()});
  if (!r) return std::unexpected(r.error());
  return r->rows.empty() ? 0 : r->rows[0][0].as_int();
}

Result<std::map<std::string, CrmLead>> MySqlCrmLeadRepository::find_by_phones(const TenantId& t,
                                                                              std::span<const std::string> phones) {
  std::map<std::string, CrmLead> out;
  if (phones.empty()) return out;
  std::vector<Value> params{Value(t.bid())};
  params.reserve(phones.size() + 1);
  std::string marks;
  for (const auto& p : phones) {
    params.emplace_back(p);
    marks += marks.empty() ? "?" : ", ?";
  }
  // Oldest first: the newest lead of a phone is the last one assigned.
  auto r = db_.execute(fmt::format("SELECT id, phone, lead_id, fields, modified_at FROM crm_leads WHERE bid = ? AND "
                                   "phone IN ({}) ORDER BY modified_at, id",
                                   marks),
                       params);
  if (!r) return std::unexpected(r.error());
  for (const auto& row : r->rows) {
    out[row[1].as_string()] =
        CrmLead{row[0].as_int(), row[1].as_string(), row[2].as_string(), row[3].as_string(), row[4].as_time()};
  }
  return out;
}

// ---- categories and scorecards -----------------------------------------------------------

namespace {

struct RuleTable {
  std::string_view table;
  std::string_view rules_col;
};

RuleTable rule_table(MySqlRuleSetRepository::Kind k) {
  return k == MySqlRuleSetRepository::Kind::kCategories ? RuleTable{"categories", "rules"}
                                                        : RuleTable{"scorecards", "questions"};
}

RuleSet to_rule_set(const Row& r) {
  return RuleSet{r[0].as_int(), r[1].as_string(), r[2].as_string(), r[3].as_int() != 0, r[4].as_int()};
}

}  // namespace

Result<Id> MySqlRuleSetRepository::create(const TenantId& t, const RuleSet& rs) {
  const auto tb = rule_table(kind_);
  auto r =
      db_.execute(fmt::format("INSERT INTO {} (bid, name, {}, enabled) VALUES (?, ?, ?, ?)", tb.table, tb.rules_col),
                  {t.bid(), rs.name, rs.rules_json, rs.enabled});
  if (!r) return std::unexpected(r.error());
  return static_cast<Id>(r->insert_id);
}

Result<RuleSet> MySqlRuleSetRepository::get(const TenantId& t, Id id) {
  const auto tb = rule_table(kind_);
  auto r = db_.execute(fmt::format("SELECT id, name, {}, enabled, version FROM {} "
                                   "WHERE id = ? AND bid = ?",
                                   tb.rules_col, tb.table),
                       {id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found(tb.table, id);
  return to_rule_set(r->rows[0]);
}

Result<std::vector<RuleSet>> MySqlRuleSetRepository::list(const TenantId& t) {
  const auto tb = rule_table(kind_);
  auto r = db_.execute(fmt::format("SELECT id, name, {}, enabled, version FROM {} "
                                   "WHERE bid = ? ORDER BY name",
                                   tb.rules_col, tb.table),
                       {t.bid()});
  if (!r) return std::unexpected(r.error());
  std::vector<RuleSet> out;
  for (const auto& row : r->rows) out.push_back(to_rule_set(row));
  return out;
}

Result<bool> MySqlRuleSetRepository::update(const TenantId& t, const RuleSet& rs) {
  const auto tb = rule_table(kind_);
  return matched(db_.execute(fmt::format("UPDATE {} SET name = ?, {} = ?, enabled = ?, "
                                         "version = version + 1 WHERE id = ? AND bid = ?",
                                         tb.table, tb.rules_col),
                             {rs.name, rs.rules_json, rs.enabled, rs.id, t.bid()}));
}

Result<bool> MySqlRuleSetRepository::remove(const TenantId& t, Id id) {
  const auto tb = rule_table(kind_);
  if (kind_ == Kind::kScorecards) {
    return matched(db_.execute(fmt::format("DELETE FROM {} WHERE id = ? AND bid = ?", tb.table), {id, t.bid()}));
  }
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    auto r = c.execute("DELETE FROM categories WHERE id = ? AND bid = ?", {id, t.bid()});
    if (!r) return std::unexpected(r.error());
    if (r->affected_rows == 0) return false;
    auto m = c.execute("DELETE FROM call_category_matches WHERE bid = ? AND category_id = ?", {t.bid(), id});
    if (!m) return std::unexpected(m.error());
    return true;
  });
}

Status MySqlCategoryMatchRepository::replace(const TenantId& t, Id call_id, const std::vector<CategoryMatch>& matches) {
  return db_.transaction([&](Connection& c) -> Status {
    if (auto st = require_call(c, t, call_id, /*lock=*/true); !st) return st;
    auto del = c.execute("DELETE FROM call_category_matches WHERE bid = ? AND call_id = ?", {t.bid(), call_id});
    if (!del) return std::unexpected(del.error());
    for (const auto& m : matches) {
      auto r = c.execute(
          "INSERT INTO call_category_matches (bid, call_id, category_id, spans) "
          "SELECT bid, ?, id, ? FROM categories WHERE id = ? AND bid = ?",
          {call_id, m.spans_json, m.category_id, t.bid()});
      if (!r) return std::unexpected(r.error());
      if (r->affected_rows == 0) return not_found("category", m.category_id);
    }
    return {};
  });
}

Result<std::vector<CategoryMatch>> MySqlCategoryMatchRepository::list_for_call(const TenantId& t, Id call_id) {
  auto r = db_.execute(
      "SELECT category_id, spans FROM call_category_matches WHERE bid = ? AND call_id = ? "
      "ORDER BY category_id",
      {t.bid(), call_id});
  if (!r) return std::unexpected(r.error());
  std::vector<CategoryMatch> out;
  for (const auto& row : r->rows) out.push_back({row[0].as_int(), row[1].as_string()});
  return out;
}

// ---- escalations -------------------------------------------------------------------------

namespace {

constexpr std::string_view kEscalationCols =
    "SELECT id, call_id, reason, severity, status, created_at, resolved_at FROM escalations";

std::vector<Escalation> to_escalations(const std::vector<Row>& rows) {
  std::vector<Escalation> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(Escalation{row[0].as_int(), row[1].as_int(), row[2].as_string(),
                             from_name(kSeverity, row[3].as_string()), from_name(kEscalationStatus, row[4].as_string()),
                             row[5].as_time(), row[6].opt_time()});
  }
  return out;
}

}  // namespace

Result<Id> MySqlEscalationRepository::create(const TenantId& t, Id call_id, std::string_view reason,
                                             EscalationSeverity severity) {
  auto r = db_.execute(
      "INSERT INTO escalations (bid, call_id, reason, severity) "
      "SELECT bid, id, LEFT(?, 1024), ? FROM call_records WHERE id = ? AND bid = ?",
      {reason, to_name(kSeverity, severity), call_id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->affected_rows == 0) return not_found("call", call_id);
  return static_cast<Id>(r->insert_id);
}

Result<std::vector<Escalation>> MySqlEscalationRepository::list(const TenantId& t,
                                                                std::optional<EscalationStatus> status, int limit) {
  std::optional<std::string> st;
  if (status) st = std::string(to_name(kEscalationStatus, *status));
  auto r = db_.execute(std::string(kEscalationCols) +
                           " WHERE bid = ? AND (? IS NULL OR status = ?) ORDER BY created_at DESC, id DESC LIMIT ?",
                       {t.bid(), st, st, limit});
  if (!r) return std::unexpected(r.error());
  return to_escalations(r->rows);
}

Result<std::vector<Escalation>> MySqlEscalationRepository::list_for_call(const TenantId& t, Id call_id) {
  auto r =
      db_.execute(std::string(kEscalationCols) + " WHERE bid = ? AND call_id = ? ORDER BY id DESC", {t.bid(), call_id});
  if (!r) return std::unexpected(r.error());
  return to_escalations(r->rows);
}

Result<bool> MySqlEscalationRepository::set_status(const TenantId& t, Id id, EscalationStatus s, Timestamp at) {
  std::optional<Timestamp> resolved;
  if (s == EscalationStatus::kResolved) resolved = at;
  return matched(db_.execute("UPDATE escalations SET status = ?, resolved_at = ? WHERE id = ? AND bid = ?",
                             {to_name(kEscalationStatus, s), resolved, id, t.bid()}));
}

// ---- notes -------------------------------------------------------------------------------

Result<Id> MySqlNoteRepository::create(const TenantId& t, Id call_id, std::optional<Id> author_user_id,
                                       std::string_view body) {
  auto r = db_.execute(
      "INSERT INTO call_notes (bid, call_id, author_user_id, body) "
      "SELECT bid, id, ?, ? FROM call_records WHERE id = ? AND bid = ?",
      {author_user_id, body, call_id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->affected_rows == 0) return not_found("call", call_id);
  return static_cast<Id>(r->insert_id);
}

Result<std::vector<CallNote>> MySqlNoteRepository::list_for_call(const TenantId& t, Id call_id) {
  auto r = db_.execute(
      "SELECT id, call_id, author_user_id, body, created_at FROM call_notes "
      "WHERE bid = ? AND call_id = ? ORDER BY id",
      {t.bid(), call_id});
  if (!r) return std::unexpected(r.error());
  std::vector<CallNote> out;
  for (const auto& row : r->rows) {
    out.push_back(CallNote{row[0].as_int(), row[1].as_int(), row[2].opt_int(), row[3].as_string(), row[4].as_time()});
  }
  return out;
}

Result<bool> MySqlNoteRepository::remove(const TenantId& t, Id id) {
  return matched(db_.execute("DELETE FROM call_notes WHERE id = ? AND bid = ?", {id, t.bid()}));
}

}  // namespace earshot::storage

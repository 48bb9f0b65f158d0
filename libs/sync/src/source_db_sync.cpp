// Source-database sync: keyset watermark (time, id) with a safety lag, batched upserts,
// confirmed transcribe.{bid} publishes, watermark advanced after both.
#include <fmt/format.h>

#include <deque>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "earshot/core/json_ms.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/storage/phone.hpp"
#include "earshot/sync/sync.hpp"
#include "sync_internal.hpp"

namespace earshot::sync {
namespace {

using Json = nlohmann::json;
using storage::Value;

// Keyset position: the last (time, id) synced. The id keeps its type (integer or text) so it
// compares in the source the way the source orders it.
struct Position {
  storage::Timestamp time{};
  Value id;
};

std::string encode_position(const Position& p) {
  Json j{{"time", queue::format_utc(p.time)}, {"time_ms", p.time.time_since_epoch().count()}};
  if (std::holds_alternative<std::int64_t>(p.id.storage())) {
    j["id"] = p.id.as_int();
  } else {
    j["id"] = p.id.as_string();
  }
  return j.dump();
}

Result<Position> decode_position(const std::string& text) {
  auto j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("time_ms") || !j["time_ms"].is_number_integer() ||
      !j.contains("id")) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("db watermark '{}' is not a position", text));
  }
  Position p;
  p.time = storage::Timestamp(std::chrono::milliseconds(j["time_ms"].get<std::int64_t>()));
  if (j["id"].is_number_integer()) {
    p.id = Value(j["id"].get<std::int64_t>());
  } else if (j["id"].is_string()) {
    p.id = Value(j["id"].get<std::string>());
  } else {
    return make_error(ErrorCode::kInvalidArgument, "db watermark id is neither integer nor text");
  }
  return p;
}

std::optional<storage::Timestamp> time_of(const Value& v) {
  if (auto t = v.opt_time()) {
    if (std::holds_alternative<storage::Timestamp>(v.storage())) return t;
  }
  if (std::holds_alternative<std::int64_t>(v.storage()) || std::holds_alternative<double>(v.storage())) {
    return storage::Timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(v.as_double() * 1000)));
  }
  return v.opt_time();
}

constexpr const char* kNoAudio = "the source row has no audio URL";

std::string col_or_null(const std::string& c) {
  return c.empty() ? "NULL" : "src." + quote_identifier(c);
}

struct Query {
  std::string first;  // no position yet
  std::string next;   // after a position
};

Query build_query(const SourceDbConfig& cfg) {
  const auto& m = cfg.columns;
  const std::string from =
      cfg.table.empty() ? fmt::format("({}) AS src", cfg.query) : fmt::format("{} AS src", quote_identifier(cfg.table));
  const std::string wt = "src." + quote_identifier(m.watermark_time);
  const std::string wid = "src." + quote_identifier(m.watermark_id);
  std::string disposition;
  if (!m.disposition_column.empty()) {
    std::string marks;
    for (std::size_t i = 0; i < m.disposition_values.size(); ++i) marks += i ? ", ?" : "?";
    disposition = fmt::format(" AND src.{} IN ({})", quote_identifier(m.disposition_column), marks);
  }
  const std::string select = fmt::format(
      "SELECT {}, {}, {}, {}, {}, {}, {}, {}, {}, {} FROM {} WHERE {} <= ?", col_or_null(m.external_id),
      col_or_null(m.agent), col_or_null(m.agent_name), col_or_null(m.customer_phone), col_or_null(m.customer_name),
      col_or_null(m.started_at), col_or_null(m.duration), col_or_null(m.audio_url), wt, wid, from, wt);
  const std::string tail = fmt::format("{} ORDER BY {}, {} LIMIT ?", disposition, wt, wid);
  Query q;
  q.first = select + tail;
  q.next = fmt::format("{} AND ({} > ? OR ({} = ? AND {} > ?)){}", select, wt, wt, wid, tail);
  return q;
}

}  // namespace

namespace {

// The address to connect to for the business's source database: `host` resolved once, every
// address it resolves to checked against `policy` at `port`, the first one returned as a
// literal (connecting to it cannot resolve again: no DNS rebinding between check and
// connect, and "localhost" cannot become the local socket). What the tenant sees is
// "destination not allowed" or "source database unreachable"; the reason is logged here.
Result<std::string> checked_source_address(const std::string& host, int port, const http::AddressPolicy& policy) {
  const auto refused = [&](const std::string& reason) -> Result<std::string> {
    log::warn("source database refused by the egress policy", {{"host", host}, {"reason", reason}});
    return make_error(ErrorCode::kPermissionDenied, "source_db.host: " + std::string(http::kDestinationNotAllowed));
  };
  if (port <= 0 || port > 65535) return refused("bad port");
  auto resolved = http::resolve_addresses(host);
  if (!resolved) {
    log::warn("source database host not resolved", {{"host", host}, {"reason", resolved.error().message}});
    return make_error(ErrorCode::kUnavailable, "source database unreachable");
  }
  const auto& ips = *resolved;
  if (ips.empty()) return refused("no IP address");
  // Every address must pass: a name answering with one public and one internal address is
  // refused whichever the connector would have picked.
  for (const auto& ip : ips) {
    if (auto reason = http::check_destination(policy, ip, port); !reason.empty()) return refused(reason);
  }
  return ips.front();
}

// A source database failure as the tenant sees it: no network detail (which port answered,
// refused or timed out) when the binary runs under an egress policy.
Error source_error(const Error& e, bool under_policy) {
  if (!under_policy || (e.code != ErrorCode::kUnavailable && e.code != ErrorCode::kTimeout)) return e;
  log::warn("source database failed", {{"detail", e.to_string()}});
  return Error(e.code, "source database unreachable");
}

}  // namespace

struct SourceDbSync::Source {
  std::string fingerprint;  // settings the connection was made with
  std::unique_ptr<storage::Database> db;
  std::unordered_map<std::string, storage::Id> agents;  // external id -> human agent id
};

SourceDbSync::SourceDbSync(SyncDeps deps) : d_(std::move(deps)), m_(d_.metrics) {}
SourceDbSync::~SourceDbSync() = default;

Result<SourceDbSync::Source*> SourceDbSync::source_for(const storage::TenantId& t, const SourceDbConfig& cfg) {
  auto settings = cfg.mysql;
  if (d_.egress) {
    auto ip = checked_source_address(settings.host, static_cast<int>(settings.port), *d_.egress);
    if (!ip) return std::unexpected(ip.error());
    settings.host = *ip;  // the checked literal: the connector does not resolve again
  }
  const auto fp = fmt::format("{}|{}|{}|{}|{}", settings.host, settings.port, settings.user, settings.database,
                              crypto::hex_encode(crypto::sha256(settings.password)));
  std::lock_guard lock(mu_);
  auto& s = sources_[t.bid()];
  if (!s || s->fingerprint != fp) {
    s = std::make_unique<Source>();
    s->fingerprint = fp;
    s->db = std::make_unique<storage::Database>(settings);
  }
  return s.get();
}

Result<SyncReport> SourceDbSync::run_once(const storage::TenantId& t) {
  auto r = run_pass(t);
  record_status(t, r);
  return r;
}

// The kDbStatusSource row: "error: <reason>" after a failed pass, "ok: ..." once a pass
// succeeds again (written only when it changes). A pass that found no source configured, was
// blocked by the lead filter (its own row) or found another pass running leaves it alone.
void SourceDbSync::record_status(const storage::TenantId& t, const Result<SyncReport>& r) {
  std::string state;
  if (r) {
    if (!r->configured || r->blocked || !r->note.empty()) return;
    state = "ok: the last pass succeeded";
  } else {
    state = "error: " + r.error().to_string();
    if (state.size() > 255) {  // the column holds 255 characters; cut on a UTF-8 boundary
      std::size_t n = 252;
      while (n > 0 && (static_cast<unsigned char>(state[n]) & 0xC0) == 0x80) --n;
      state = state.substr(0, n) + "...";
    }
  }
  auto cur = d_.watermarks.get(t, kDbStatusSource);
  if (cur && *cur == state) return;
  if (auto st = d_.watermarks.put(t, kDbStatusSource, state); !st) {
    log::warn("source database status not stored", {{"error", st.error().to_string()}});
  }
}

Result<SyncReport> SourceDbSync::run_pass(const storage::TenantId& t) {
  SyncReport rep;
  rep.source = std::string(kDbSource);
  auto loaded = detail::load_config(d_, t, rep);
  if (!loaded) return std::unexpected(loaded.error());
  if (!*loaded) return rep;
  const storage::PipelineConfig* config = &**loaded;
  auto parsed = parse_source_db(*config);
  if (!parsed) return std::unexpected(parsed.error());
  if (!*parsed) {
    rep.configured = false;
    rep.note = "no source database configured";
    return rep;
  }
  const SourceDbConfig& cfg = **parsed;
  auto result = [&](std::string_view r) { m_.runs->Add({{"source", "db"}, {"result", std::string(r)}}).Increment(); };

  auto blocked = refresh_lead_filter_state(d_, m_, t, config->lead_filter_mode);
  if (!blocked) return std::unexpected(blocked.error());
  if (*blocked) {
    rep.blocked = true;
    rep.note = "blocked: lead filter is require and the CRM has no leads";
    result("blocked");
    return rep;
  }
  auto lock = d_.run_locks.try_acquire(t, kDbSource);
  if (!lock) return std::unexpected(lock.error());
  if (!*lock) {
    rep.note = "another sync of this business's source database is running";
    return rep;
  }
  if (auto st = d_.declarer.ensure(queue::Stage::kTranscribe, t.bid()); !st) return std::unexpected(st.error());

  auto src = source_for(t, cfg);
  if (!src) {
    result("error");
    return std::unexpected(src.error().with_context("source database"));
  }
  auto fail = [&](const Error& e) -> Result<SyncReport> {
    result("error");
    return std::unexpected(e.with_context("source database"));
  };

  auto mark = d_.watermarks.get(t, kDbSource);
  if (!mark) return fail(mark.error());
  std::optional<Position> pos;
  if (*mark) {
    auto p = decode_position(**mark);
    if (!p) return fail(p.error());
    pos = *p;
  }
  const bool under_policy = d_.egress.has_value();
  auto now = (*src)->db->execute("SELECT UTC_TIMESTAMP(3)");
  if (!now) return fail(source_error(now.error(), under_policy));
  if (now->rows.empty()) return fail(Error(ErrorCode::kInternal, "no clock from the source"));
  const storage::Timestamp cutoff =
      now->rows[0][0].as_time() - std::chrono::duration_cast<std::chrono::milliseconds>(cfg.safety_lag);
  const Query q = build_query(cfg);
  const auto mode = config->lead_filter_mode;

  // Batches are pipelined: while batch N is written (its own transaction, on its own
  // connection) and its messages confirmed, batch N+1 is read, converted and written too, so
  // the database works on two batches at once. Batches settle strictly in order: N's
  // watermark is written only once N and every batch before it are committed and confirmed,
  // so the watermark never passes a row that is not both.
  struct Written {
    Status status;  // the write (upserts, failures) and then the broker's confirms
    std::int64_t created = 0;
    std::int64_t updated = 0;
    std::int64_t messages = 0;
    std::int64_t write_ms = 0;
  };
  struct InFlight {
    std::future<Written> done;
    Position pos;
  };
  std::deque<InFlight> in_flight;
  constexpr std::size_t kBatchesInFlight = 2;
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point a) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - a).count();
  };
  // Waits for the oldest batch; once it is committed and confirmed, its watermark is written.
  auto settle_oldest = [&]() -> Status {
    InFlight f = std::move(in_flight.front());
    in_flight.pop_front();
    const auto waited = Clock::now();
    Written w = f.done.get();
    rep.publish_wait_ms += ms_since(waited);
    rep.write_ms += w.write_ms;
    if (!w.status) return w.status;
    rep.created += w.created;
    rep.updated += w.updated;
    rep.published += w.messages;
    rep.position = encode_position(f.pos);
    return d_.watermarks.put(t, kDbSource, rep.position);
  };
  // After a failure: waits for the batches still in flight, writes no further watermark.
  auto abandon = [&](const Error& e) -> Result<SyncReport> {
    while (!in_flight.empty()) {
      (void)in_flight.front().done.get();
      in_flight.pop_front();
    }
    return fail(e);
  };
  // One batch: upserts, fails calls without audio, announces new calls, publishes the
  // transcribe messages; ready once the broker confirmed them.
  auto write_batch = [this, &t](std::vector<storage::CallInput> batch) -> Written {
    Written w;
    const auto started = Clock::now();
    auto elapsed = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    };
    auto failed = [&](const Error& e) {
      w.status = std::unexpected(e);
      w.write_ms = elapsed();
      return w;
    };
    std::vector<queue::OutgoingMessage> out;
    if (!batch.empty()) {
      auto upserted = detail::upsert_calls(d_, t, batch);
      if (!upserted) return failed(upserted.error());
      std::vector<std::pair<storage::Id, bool>> announce;  // created calls: (id, failed)
      for (const auto& [ext, call] : *upserted) {
        const bool is_new = call.created;
        if (is_new) ++w.created;
        if (call.status != "pending") continue;  // already on its way or done
        const auto id = call.id;
        const std::string& audio = call.audio_uri;
        if (audio.empty()) {
          if (auto st = d_.calls.mark_failed(t, id, "sync", kNoAudio); !st) return failed(st.error());
          if (is_new) announce.emplace_back(id, true);
          continue;
        }
        if (is_new) announce.emplace_back(id, false);
        out.push_back(detail::transcribe_message(d_.topology, t.bid(), id, audio, call.language));
      }
      if (d_.live) {
        for (const auto& [id, failed_call] : announce) {
          nlohmann::json data{{"call_id", id}, {"status", failed_call ? "failed" : "pending"}, {"previous", nullptr}};
          if (failed_call) data["reason"] = kNoAudio;
          d_.live->publish(t.bid(), "call.status", std::move(data));
        }
      }
      w.updated = static_cast<std::int64_t>(batch.size()) - w.created;
      m_.synced->Add({{"source", "db"}}).Increment(static_cast<double>(w.created));
    }
    w.messages = static_cast<std::int64_t>(out.size());
    w.write_ms = elapsed();
    if (out.empty()) return w;
    auto confirmed = std::make_shared<std::promise<Status>>();
    auto confirmed_future = confirmed->get_future();
    d_.publisher.publish_batch_async(std::move(out), [confirmed](Status st) { confirmed->set_value(std::move(st)); });
    w.status = confirmed_future.get();
    return w;
  };

  std::vector<Value> params;
  std::vector<storage::CallInput> calls;
  while (!cancelled_) {
    auto phase = Clock::now();
    params.clear();
    params.emplace_back(cutoff);
    if (pos) {
      params.emplace_back(pos->time);
      params.emplace_back(pos->time);
      params.push_back(pos->id);
    }
    for (const auto& v : cfg.columns.disposition_values) params.emplace_back(v);
    params.emplace_back(cfg.batch_size);
    auto rows = (*src)->db->execute(pos ? q.next : q.first, params);
    if (!rows) return abandon(source_error(rows.error(), under_policy));
    rep.read_ms += ms_since(phase);
    if (rows->rows.empty()) break;
    rep.rows += static_cast<std::int64_t>(rows->rows.size());

    // Rows -> calls. The position advances over every row read, taken or not.
    Position last = pos.value_or(Position{});
    calls.clear();
    std::unordered_set<std::string> phones;
    for (const auto& r : rows->rows) {
      auto wt = time_of(r[8]);
      if (!wt) return abandon(Error(ErrorCode::kInvalidArgument, "a source row has no watermark time"));
      last.time = *wt;
      last.id = r[9];
      storage::CallInput in;
      in.external_id = r[0].as_string();
      auto started = time_of(r[5]);
      std::string problem;
      if (in.external_id.empty() || in.external_id.size() > 128) problem = "external id is empty or longer than 128";
      if (!started) problem = "start time is empty";
      if (!problem.empty()) {
        ++rep.rejected;
        ++rep.skipped;
        m_.rejected->Add({{"source", "db"}}).Increment();
        log::warn("source row skipped", {{"reason", problem}, {"external_id", in.external_id}});
        continue;
      }
      in.started_at = *started;
      Json meta{{"source", "db"}};
      if (!r[3].is_null() && !r[3].as_string().empty()) {
        auto phone = storage::normalize_phone_e164(r[3].as_string(), config->default_country_code);
        if (phone) {
          in.customer_phone = *phone;
          phones.insert(*phone);
        } else {
          meta["phone_error"] = phone.error().message;
        }
      }
      in.customer_name = r[4].as_string();
      if (!r[6].is_null()) {
        // The tenant's own column: negative, NaN or 1e300 must not overflow (clamp_ms: 0..31 years).
        const double d = r[6].as_double();
        in.duration_ms = clamp_ms(cfg.columns.duration_ms ? d : d * 1000.0);
      }
      in.audio_uri = r[7].as_string();
      in.language = config->language;
      in.direction = storage::CallDirection::kUnknown;
      if (!r[1].is_null() && !r[1].as_string().empty()) {
        const std::string agent = r[1].as_string();
        auto it = (*src)->agents.find(agent);
        if (it == (*src)->agents.end()) {
          storage::HumanAgentInput a;
          a.external_id = agent;
          a.name = r[2].is_null() ? agent : r[2].as_string();
          auto id = d_.agents.upsert(t, a);
          if (!id) return abandon(id.error());
          it = (*src)->agents.emplace(agent, *id).first;
        }
        in.human_agent_id = it->second;
      }
      in.metadata_json = meta.dump();
      calls.push_back(std::move(in));
    }

    // Lead filter: one lookup for the batch's phones (the newest lead per phone).
    if (mode != storage::LeadFilterMode::kOff && !calls.empty()) {
      std::map<std::string, storage::CrmLead> lead_of;  // phone -> its newest lead
      if (!phones.empty()) {
        const std::vector<std::string> batch_phones(phones.begin(), phones.end());
        auto leads = d_.leads.find_by_phones(t, batch_phones);
        if (!leads) return abandon(leads.error());
        lead_of = std::move(*leads);
      }
      std::vector<storage::CallInput> kept;
      kept.reserve(calls.size());
      for (auto& c : calls) {
        auto it = lead_of.find(c.customer_phone);
        if (it == lead_of.end()) {
          if (mode == storage::LeadFilterMode::kRequire) {
            ++rep.skipped;
            continue;
          }
          auto meta = Json::parse(c.metadata_json);
          meta["lead_matched"] = false;
          c.metadata_json = meta.dump();
        } else {
          auto meta = Json::parse(c.metadata_json);
          meta["lead_matched"] = true;
          meta["lead"] = {{"lead_id", it->second.lead_id},
                          {"fields", Json::parse(it->second.fields_json, nullptr, false)}};
          c.metadata_json = meta.dump();
        }
        kept.push_back(std::move(c));
      }
      calls = std::move(kept);
    }

    // At most kBatchesInFlight batches are written at once; the oldest settles first.
    if (in_flight.size() >= kBatchesInFlight) {
      if (auto st = settle_oldest(); !st) return abandon(st.error());
    }
    in_flight.push_back(InFlight{std::async(std::launch::async, write_batch, std::move(calls)), last});
    calls = {};
    pos = last;
    if (static_cast<int>(rows->rows.size()) < cfg.batch_size) break;
  }
  // Committed and confirmed: only now does the watermark move past the last rows.
  while (!in_flight.empty()) {
    if (auto st = settle_oldest(); !st) return abandon(st.error());
  }
  if (pos && rep.position.empty()) rep.position = encode_position(*pos);
  result("ok");
  return rep;
}

}  // namespace earshot::sync

// Transcript feeds: the HuggingFace datasets-server rows API, paged by offset and limit,
// resumed from the stored offset; each valid row becomes a transcribed call + analyze.{bid}.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "earshot/core/backoff.hpp"
#include "earshot/core/log.hpp"
#include "earshot/http/retry_after.hpp"
#include "earshot/sync/feed.hpp"
#include "earshot/sync/sync.hpp"
#include "sync_internal.hpp"

namespace earshot::sync {
namespace {
using Json = nlohmann::json;
constexpr int kMaxRetries = 3;
constexpr std::size_t kMaxTurnChars = 20'000;
constexpr std::int64_t kMsPerWord = 400;
constexpr std::int64_t kTurnGapMs = 600;

std::int64_t words(std::string_view s) {
  std::int64_t n = 0;
  bool in = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

}  // namespace

Result<FeedPage> parse_rows_response(std::string_view body, const FeedConfig& feed, std::int64_t offset) {
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "the rows API answered with a body that is not a JSON object");
  }
  if (!j.contains("rows") || !j["rows"].is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "the rows API answer has no \"rows\" array");
  }
  FeedPage page;
  for (const char* k : {"num_rows_total", "total"}) {
    if (j.contains(k) && j[k].is_number_integer()) {
      page.total = j[k].get<std::int64_t>();
      break;
    }
  }
  const auto& rows = j["rows"];
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Json& el = rows[i];
    FeedRow out;
    out.row_idx = offset + static_cast<std::int64_t>(i);
    const Json* row = &el;
    if (el.is_object() && el.contains("row")) {  // datasets-server shape
      row = &el["row"];
      if (el.contains("row_idx") && el["row_idx"].is_number_integer()) out.row_idx = el["row_idx"].get<std::int64_t>();
    }
    auto text = [&](const std::string& col, std::string& target) -> std::string {
      if (!row->is_object()) return "row is not an object";
      auto it = row->find(col);
      if (it == row->end() || !it->is_string()) return fmt::format("column '{}' is missing or not text", col);
      target = it->get<std::string>();
      if (words(target) == 0) return fmt::format("column '{}' is empty", col);
      if (target.size() > kMaxTurnChars)
        return fmt::format("column '{}' is longer than {} characters", col, kMaxTurnChars);
      return {};
    };
    out.problem = text(feed.customer_column, out.customer);
    if (out.problem.empty()) out.problem = text(feed.agent_column, out.agent);
    page.rows.push_back(std::move(out));
  }
  return page;
}

std::string transcript_segments(const FeedConfig& feed, const FeedRow& row, std::int64_t* duration_ms,
                                std::string* full_text) {
  const bool customer_first = feed.first_speaker == "customer";
  const std::pair<std::string, const std::string*> turns[2] = {
      {customer_first ? "customer" : "agent", customer_first ? &row.customer : &row.agent},
      {customer_first ? "agent" : "customer", customer_first ? &row.agent : &row.customer}};
  Json segs = Json::array();
  std::int64_t at = 0;
  full_text->clear();
  for (const auto& [speaker, text] : turns) {
    const std::int64_t len = std::max<std::int64_t>(1, words(*text)) * kMsPerWord;
    segs.push_back(
        {{"speaker", speaker}, {"start_ms", at}, {"end_ms", at + len}, {"text", *text}, {"confidence", 1.0}});
    if (!full_text->empty()) full_text->push_back('\n');
    *full_text += *text;
    at += len + kTurnGapMs;
  }
  *duration_ms = at - kTurnGapMs;
  return segs.dump();
}

FeedSync::FeedSync(SyncDeps deps) : d_(std::move(deps)), m_(d_.metrics) {}

Result<std::vector<SyncReport>> FeedSync::run_once(const storage::TenantId& t, std::string_view only) {
  auto config = d_.configs.get(t);
  if (!config) {
    if (config.error().code == ErrorCode::kNotFound) return std::vector<SyncReport>{};
    return std::unexpected(config.error());
  }
  auto feeds = parse_feeds(*config);
  if (!feeds) return std::unexpected(feeds.error());
  std::vector<SyncReport> out;
  for (const auto& f : *feeds) {
    if (!only.empty() && f.name != only) continue;
    auto r = run_feed(t, *config, f);
    if (!r) return std::unexpected(r.error().with_context(fmt::format("feed {}", f.name)));
    out.push_back(std::move(*r));
  }
  return out;
}

Result<SyncReport> FeedSync::run_feed(const storage::TenantId& t, const storage::PipelineConfig& config,
                                      const FeedConfig& feed) {
  SyncReport rep;
  rep.source = feed_source(feed.name);
  auto result = [&](std::string_view r) { m_.runs->Add({{"source", "feed"}, {"result", std::string(r)}}).Increment(); };
  auto fail = [&](const Error& e) -> Result<SyncReport> {
    result("error");
    return std::unexpected(e);
  };
  if (!d_.http) return make_error(ErrorCode::kFailedPrecondition, "the feed sync has no HTTP client");
  auto lock = d_.run_locks.try_acquire(t, rep.source);
  if (!lock) return std::unexpected(lock.error());
  if (!*lock) {
    rep.note = "another sync of this feed is running";
    return rep;
  }
  if (auto st = d_.declarer.ensure(queue::Stage::kAnalyze, t.bid()); !st) return fail(st.error());
  auto mark = d_.watermarks.get(t, rep.source);
  if (!mark) return fail(mark.error());
  std::int64_t offset = 0;
  if (*mark) {
    try {
      offset = std::stoll(**mark);
    } catch (...) {
      return fail(Error(ErrorCode::kInvalidArgument, fmt::format("feed watermark '{}' is not an offset", **mark)));
    }
  }
  std::int64_t taken = 0;
  while (taken < feed.max_rows_per_run) {
    http::HttpRequest req;
    req.url = fmt::format("{}/rows?dataset={}&config={}&split={}&offset={}&limit={}", feed.base_url,
                          http::url_encode(feed.dataset), http::url_encode(feed.config), http::url_encode(feed.split),
                          offset, feed.page_size);
    req.timeout = feed.timeout;
    Backoff backoff(std::chrono::milliseconds(500), std::chrono::seconds(10));
    Result<FeedPage> page = make_error(ErrorCode::kInternal, "not sent");
    for (int attempt = 0; attempt <= kMaxRetries; ++attempt) {
      auto res = d_.http->send_sync(req);
      ++rep.requests;
      const std::string status = res ? std::to_string(res->status) : std::string("error");
      m_.http->Add({{"source", "feed"}, {"status", status}}).Increment();
      std::optional<std::chrono::milliseconds> hint;
      if (!res) {
        page = std::unexpected(res.error().with_context("rows API"));
      } else if (res->status == 200) {
        page = parse_rows_response(res->body, feed, offset);
        break;
      } else {
        std::string reason;
        auto j = Json::parse(res->body, nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()) {
          reason = ": " + j["error"].get<std::string>();
        }
        const auto msg = fmt::format("rows API answered HTTP {}{}", res->status, reason);
        ErrorCode code = ErrorCode::kInvalidArgument;
        if (res->status == 429) code = ErrorCode::kRateLimited;
        if (res->status >= 500) code = ErrorCode::kUnavailable;
        if (res->status == 401 || res->status == 403) code = ErrorCode::kPermissionDenied;
        if (res->status == 404) code = ErrorCode::kNotFound;
        page = make_error(code, msg);
        hint = http::parse_retry_after(res->headers, d_.clock.now());
      }
      if (message_fate(page.error().code) != MessageFate::kRetry || attempt == kMaxRetries) break;
      auto wait = backoff.next();
      if (hint) wait = std::max(wait, *hint);
      log::warn("rows API request failed; retrying",
                {{"error", page.error().message}, {"attempt", std::to_string(attempt + 1)}});
      if (!detail::pause(d_, wait)) return fail(Error(ErrorCode::kUnavailable, "shutting down"));
    }
    if (!page) return fail(page.error());
    if (page->rows.empty()) break;

    const std::int64_t created_before = rep.created;
    std::vector<storage::CallInput> calls;
    std::vector<const FeedRow*> valid;
    std::vector<std::string> segments, texts;
    for (const auto& row : page->rows) {
      if (!row.problem.empty()) {
        ++rep.rejected;
        ++rep.skipped;
        m_.rejected->Add({{"source", "feed"}}).Increment();
        log::warn("feed row skipped",
                  {{"feed", feed.name}, {"row_idx", std::to_string(row.row_idx)}, {"reason", row.problem}});
        continue;
      }
      storage::CallInput in;
      in.external_id = fmt::format("feed:{}:{}", feed.name, row.row_idx);
      in.started_at = storage::to_timestamp(d_.clock.now());
      in.language = config.language;
      std::string text;
      segments.push_back(transcript_segments(feed, row, &in.duration_ms, &text));
      texts.push_back(std::move(text));
      in.metadata_json = Json{{"source", "feed"},
                              {"feed", feed.name},
                              {"dataset", feed.dataset},
                              {"row_idx", std::to_string(row.row_idx)}}
                             .dump();
      calls.push_back(std::move(in));
      valid.push_back(&row);
    }
    rep.rows += static_cast<std::int64_t>(page->rows.size());
    if (!calls.empty()) {
      auto upserted = detail::upsert_calls(d_, t, calls);
      if (!upserted) return fail(upserted.error());
      std::vector<queue::OutgoingMessage> out;
      for (std::size_t i = 0; i < calls.size(); ++i) {
        auto it = upserted->find(calls[i].external_id);
        if (it == upserted->end()) continue;
        const storage::Id id = it->second.id;
        std::string status = it->second.status;
        if (it->second.created) {
          ++rep.created;
        } else {
          ++rep.updated;
        }
        // A feed call is text: it is created pending and completed here, its transcript and
        // the step to transcribed in one transaction (a call an interrupted run left pending
        // or transcribing is completed the same way).
        if (status == "pending" || status == "transcribing") {
          storage::PushedCall push;
          push.call = calls[i];
          storage::Transcript tr;
          tr.segments_json = segments[i];
          tr.full_text = texts[i];
          tr.provider = "feed";
          tr.language = config.language;
          push.transcript = std::move(tr);
          auto done = d_.calls.insert_pushed(t, push);
          if (!done) return fail(done.error());
          if (done->completed) {
            if (d_.live) {
              d_.live->publish(t.bid(), "call.status",
                               Json{{"call_id", id}, {"status", "transcribed"}, {"previous", status}});
            }
            status = "transcribed";
          }
        }
        // A call left transcribed by an interrupted run gets its message now.
        if (status == "transcribed") out.push_back(detail::analyze_message(d_.topology, t.bid(), id));
      }
      if (!out.empty()) {
        const auto n = static_cast<std::int64_t>(out.size());
        if (auto st = d_.publisher.publish_batch(std::move(out)); !st) return fail(st.error());
        rep.published += n;
      }
    }
    m_.synced->Add({{"source", "feed"}}).Increment(static_cast<double>(rep.created - created_before));
    offset += static_cast<std::int64_t>(page->rows.size());
    taken += static_cast<std::int64_t>(page->rows.size());
    rep.position = std::to_string(offset);
    if (auto st = d_.watermarks.put(t, rep.source, rep.position); !st) return fail(st.error());
    if (static_cast<int>(page->rows.size()) < feed.page_size) break;
    if (page->total && offset >= *page->total) break;
  }
  if (rep.position.empty()) rep.position = std::to_string(offset);
  result("ok");
  return rep;
}

}  // namespace earshot::sync

#pragma once
// In-memory TranscriptRepository (storage/repositories.hpp) over the FakeCallRepository,
// FakeMetricsRepository and FakeProcessingEventRepository given (put_transcribed writes all
// three, as the MySQL transaction does). kNotFound for a call that is not the tenant's;
// search() matches every word case-insensitively (no minimum word length), newest call first.
// Thread-safe.

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <unordered_map>

#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"

namespace earshot::testing {

class FakeTranscriptRepository final : public storage::TranscriptRepository {
 public:
  FakeTranscriptRepository(FakeCallRepository& calls, FakeMetricsRepository& metrics,
                           FakeProcessingEventRepository& events)
      : calls_(calls), metrics_(metrics), events_(events) {}

  Status put(const storage::TenantId& t, const storage::Transcript& tr) override {
    if (!calls_.exists(t, tr.call_id)) return make_error(ErrorCode::kNotFound, "call not found");
    std::lock_guard lock(mu_);
    auto& row = rows_[{t.bid(), tr.call_id}];
    const auto version = row.version + 1;
    row = tr;
    row.version = version;
    row.redacted_segments_json.reset();
    auto& red = redactions_[{t.bid(), tr.call_id}];
    red.segments_json.clear();  // the audio URI stays, served only for its own version
    return {};
  }

  Result<bool> put_redaction(const storage::TenantId& t, const storage::TranscriptRedaction& r) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({t.bid(), r.call_id});
    if (it == rows_.end() || it->second.version != r.version) return false;
    redactions_[{t.bid(), r.call_id}] = r;
    return true;
  }

  Result<std::unordered_map<storage::Id, std::string>> redacted_segments_of(
      const storage::TenantId& t, std::span<const storage::Id> call_ids) override {
    if (call_ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 call ids");
    std::lock_guard lock(mu_);
    std::unordered_map<storage::Id, std::string> out;
    for (const auto id : call_ids) {
      if (auto row = current_redaction(t, id)) out.emplace(id, row->segments_json);
    }
    return out;
  }

  Result<bool> put_transcribed(const storage::TenantId& t, const storage::Transcript& tr, const storage::CallMetrics& m,
                               const storage::ProcessingEvent& event) override {
    if (auto st = put(t, tr); !st) return std::unexpected(st.error());
    if (auto st = metrics_.put(t, m); !st) return std::unexpected(st.error());
    auto moved = calls_.advance(t, tr.call_id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed);
    if (!moved) return moved;
    if (auto e = events_.append(t, event); !e) return std::unexpected(e.error());
    return *moved;
  }

  Result<storage::Transcript> get(const storage::TenantId& t, storage::Id call_id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({t.bid(), call_id});
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "transcript not found");
    storage::Transcript out = it->second;
    if (auto red = redactions_.find({t.bid(), call_id}); red != redactions_.end()) {
      out.redacted_audio_uri = red->second.audio_uri;
      out.redaction_current = red->second.version == out.version;
    }
    if (auto red = current_redaction(t, call_id)) out.redacted_segments_json = red->segments_json;
    return out;
  }

  Status put_english(const storage::TenantId& t, storage::Id call_id, const std::string& segments_json,
                     const std::string& source) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({t.bid(), call_id});
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "transcript not found");
    it->second.english_segments_json = segments_json;
    it->second.english_source = source;
    return {};
  }

  Status put_language(const storage::TenantId& t, storage::Id call_id, const std::string& language,
                      const std::string& source) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({t.bid(), call_id});
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "transcript not found");
    if (!it->second.language_source.empty()) return {};
    it->second.language = language;
    it->second.language_source = source;
    return {};
  }

  Result<std::unordered_map<storage::Id, std::string>> segments_of(const storage::TenantId& t,
                                                                   std::span<const storage::Id> call_ids) override {
    if (call_ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 call ids");
    std::lock_guard lock(mu_);
    std::unordered_map<storage::Id, std::string> out;
    for (const auto id : call_ids) {
      if (auto it = rows_.find({t.bid(), id}); it != rows_.end()) out.emplace(id, it->second.segments_json);
    }
    return out;
  }

  Result<std::vector<storage::Id>> search(const storage::TenantId& t, std::string_view text, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> words;
    std::istringstream in{lower(text)};
    for (std::string w; in >> w;) words.push_back(w);
    std::vector<storage::Id> out;
    for (auto it = rows_.rbegin(); it != rows_.rend() && out.size() < static_cast<std::size_t>(limit); ++it) {
      if (it->first.first != t.bid()) continue;
      const auto hay = lower(it->second.full_text);
      if (std::all_of(words.begin(), words.end(), [&](const auto& w) { return hay.find(w) != std::string::npos; })) {
        out.push_back(it->first.second);
      }
    }
    return out;
  }

 private:
  static std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

  // The redaction stored for the transcript's current version (mu_ held).
  const storage::TranscriptRedaction* current_redaction(const storage::TenantId& t, storage::Id id) const {
    auto row = rows_.find({t.bid(), id});
    auto red = redactions_.find({t.bid(), id});
    if (row == rows_.end() || red == redactions_.end() || red->second.version != row->second.version ||
        red->second.segments_json.empty()) {
      return nullptr;
    }
    return &red->second;
  }

  FakeCallRepository& calls_;
  FakeMetricsRepository& metrics_;
  FakeProcessingEventRepository& events_;
  std::mutex mu_;
  std::map<std::pair<std::string, storage::Id>, storage::Transcript> rows_;
  std::map<std::pair<std::string, storage::Id>, storage::TranscriptRedaction> redactions_;
};

}  // namespace earshot::testing

#include "earshot/ingest/ingestor.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "earshot/audio/audio.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/storage/phone.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::ingest {

using json = nlohmann::json;

namespace {

IngestError problem(Problem p, std::string msg) {
  return IngestError{p, Error(ErrorCode::kInvalidArgument, std::move(msg))};
}
IngestError failure(const Error& e) {
  return IngestError{Problem::kError, e};
}

Status check_len(std::string_view name, const std::string& v, std::size_t max) {
  if (v.size() > max) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} must be at most {} characters", name, max));
  }
  return {};
}

std::string hex_prefix(std::string_view data, std::size_t n) {
  return crypto::hex_encode(crypto::sha256(data)).substr(0, n);
}

}  // namespace

int IngestError::http_status() const {
  switch (problem) {
    case Problem::kInvalid:
      return 400;
    case Problem::kTooLarge:
      return 413;
    case Problem::kUnsupportedMedia:
      return 415;
    case Problem::kUnprocessable:
      return 422;
    case Problem::kStoreUnavailable:
      return 503;
    case Problem::kError:
      break;
  }
  return earshot::http_status(error.code);
}

std::string IngestError::code() const {
  switch (problem) {
    case Problem::kInvalid:
      return "invalid_argument";
    case Problem::kTooLarge:
      return "payload_too_large";
    case Problem::kUnsupportedMedia:
      return "unsupported_media_type";
    case Problem::kUnprocessable:
      return "unprocessable_content";
    case Problem::kStoreUnavailable:
      return "unavailable";
    case Problem::kError:
      break;
  }
  return std::string(code_name(error.code));
}

Status CallMetadata::validate() const {
  if (external_id.empty() || external_id.size() > 128) {
    return make_error(ErrorCode::kInvalidArgument, "external_id is required (1-128 characters)");
  }
  for (unsigned char c : external_id) {
    if (c < 0x20 || c == 0x7f) {
      return make_error(ErrorCode::kInvalidArgument, "external_id must not contain control characters");
    }
  }
  for (auto [name, value, max] :
       {std::tuple{"agent_id", &agent_id, std::size_t{128}}, std::tuple{"agent_name", &agent_name, std::size_t{255}},
        std::tuple{"customer_phone", &customer_phone, std::size_t{32}},
        std::tuple{"customer_name", &customer_name, std::size_t{255}},
        std::tuple{"language", &language, std::size_t{16}}, std::tuple{"city", &city, std::size_t{128}},
        std::tuple{"issue_category", &issue_category, std::size_t{128}},
        std::tuple{"call_context", &call_context, std::size_t{4000}}, std::tuple{"note", &note, std::size_t{4000}}}) {
    if (auto st = check_len(name, *value, max); !st) return st;
  }
  if (!agent_name.empty() && agent_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "agent_name needs agent_id");
  }
  for (char c : language) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_')) {
      return make_error(ErrorCode::kInvalidArgument, "language must be a code like en or en-US");
    }
  }
  if (!extra.is_object()) return make_error(ErrorCode::kInvalidArgument, "metadata must be an object");
  return {};
}

json MediaInfo::to_json() const {
  return json{{"format", format},           {"codec", codec}, {"duration_ms", duration_ms}, {"channels", channels},
              {"sample_rate", sample_rate}, {"bytes", bytes}};
}

void IngestSettings::declare(ConfigSpec& spec) {
  spec.add_int("ingest_max_audio_bytes", &max_audio_bytes, 64LL << 20, 1024, 1LL << 31,
               "Largest recording the upload API and telephony callbacks accept (413 above).");
  spec.add_duration("ingest_max_duration", &max_duration, std::chrono::hours(4), std::chrono::seconds(1),
                    std::chrono::hours(24), "Longest recording accepted (422 above).");
  spec.add_string("ingest_public_url", &public_url, "",
                  "Public base URL of the API as telephony providers call it (Twilio signs the full "
                  "URL); empty: http:// and the request's Host header.");
  spec.add_duration("ingest_fetch_timeout", &fetch_timeout, std::chrono::seconds(120), std::chrono::seconds(1),
                    std::chrono::minutes(30), "Deadline to download one telephony recording.");
  spec.add_int("ingest_max_concurrent_uploads", &max_concurrent_uploads, 4, 0, 10000,
               "Recordings of one business checked and stored at once by this gateway; one more "
               "is refused with 429 and Retry-After (0: no cap).");
}

IngestResult<MediaInfo> inspect_audio(std::span<const std::uint8_t> bytes, const IngestSettings& limits) {
  if (bytes.empty()) return std::unexpected(problem(Problem::kInvalid, "the audio file is empty (0 bytes)"));
  if (bytes.size() > static_cast<std::uint64_t>(limits.max_audio_bytes)) {
    return std::unexpected(problem(Problem::kTooLarge, fmt::format("the audio file is {} bytes; the limit is {} bytes",
                                                                   bytes.size(), limits.max_audio_bytes)));
  }
  const auto format = audio::detect_format(bytes);
  if (format == audio::AudioFormat::kUnknown) {
    return std::unexpected(problem(Problem::kUnsupportedMedia,
                                   "the file is not audio in a supported format (WAV, MP3, FLAC, OGG/Vorbis, AIFF); "
                                   "the content decides, not the name or type"));
  }
  audio::DecodeLimits dl;
  dl.max_bytes = static_cast<std::uint64_t>(limits.max_audio_bytes);
  dl.max_duration = limits.max_duration;
  // Streaming: the samples are checked block by block and dropped, so memory stays one
  // block however long the recording decodes to; past the duration limit it stops (422).
  auto decoded = audio::probe(bytes, dl);
  if (!decoded) {
    return std::unexpected(
        problem(Problem::kUnprocessable,
                fmt::format("the {} file cannot be used: {}", audio::format_name(format), decoded.error().message)));
  }
  MediaInfo m;
  m.format = std::string(audio::format_name(decoded->format));
  m.codec = decoded->codec;
  m.duration_ms = decoded->duration_ms();
  m.channels = decoded->channels;
  m.sample_rate = decoded->sample_rate;
  m.bytes = bytes.size();
  if (m.duration_ms <= 0) {
    return std::unexpected(problem(Problem::kUnprocessable, "the recording has no audio frames"));
  }
  if (m.channels < 1 || m.channels > 8) {
    return std::unexpected(problem(Problem::kUnprocessable, fmt::format("{} channels; 1-8 are supported", m.channels)));
  }
  return m;
}

Result<std::vector<stt::Segment>> parse_segments(const json& segments) {
  auto bad = [](std::string msg) { return make_error(ErrorCode::kInvalidArgument, std::move(msg)); };
  if (!segments.is_array() || segments.empty() || segments.size() > 5000) {
    return bad("segments must be a list of 1-5000 segments");
  }
  std::vector<stt::Segment> out;
  out.reserve(segments.size());
  std::int64_t previous_start = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    const auto at = fmt::format("segments[{}]", i);
    if (!s.is_object()) return bad(at + " must be an object");
    for (const auto& [k, v] : s.items()) {
      if (k != "speaker" && k != "start_ms" && k != "end_ms" && k != "text" && k != "confidence") {
        return bad(fmt::format("{}: unknown field '{}'", at, k));
      }
    }
    stt::Segment seg;
    const auto speaker = s.find("speaker");
    if (speaker == s.end() || !speaker->is_string() || (*speaker != "agent" && *speaker != "customer")) {
      return bad(at + ".speaker must be agent or customer");
    }
    seg.speaker = speaker->get<std::string>();
    for (auto [name, target] : {std::pair{"start_ms", &seg.start_ms}, std::pair{"end_ms", &seg.end_ms}}) {
      const auto it = s.find(name);
      if (it == s.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0 ||
          it->get<std::int64_t>() > 86'400'000) {
        return bad(fmt::format("{}.{} must be an integer 0..86400000", at, name));
      }
      *target = it->get<std::int64_t>();
    }
    if (seg.end_ms < seg.start_ms) return bad(at + ".end_ms must not be before start_ms");
    if (seg.start_ms < previous_start) return bad(at + ".start_ms must not be before the previous segment's");
    previous_start = seg.start_ms;
    const auto text = s.find("text");
    if (text == s.end() || !text->is_string() || text->get<std::string>().empty() ||
        text->get<std::string>().size() > 10000) {
      return bad(at + ".text must be 1-10000 characters");
    }
    seg.text = text->get<std::string>();
    if (const auto c = s.find("confidence"); c != s.end()) {
      if (!c->is_number() || c->get<double>() < 0 || c->get<double>() > 1) return bad(at + ".confidence must be 0..1");
      seg.confidence = c->get<double>();
    } else {
      seg.confidence = 1.0;
    }
    out.push_back(std::move(seg));
  }
  return out;
}

Ingestor::Ingestor(IngestorDeps deps, IngestSettings settings) : d_(std::move(deps)), settings_(std::move(settings)) {
  if (d_.metrics != nullptr) {
    calls_ = &d_.metrics->counter("earshot_ingest_calls_total",
                                  "Pushed calls by source and result (created, existing, rejected, failed).");
    orphans_ = &d_.metrics->counter("earshot_ingest_orphaned_recordings_total",
                                    "Recordings stored by an ingest that created no call and that could not be "
                                    "deleted again (their URIs are in the gateway's log).");
  }
}

Result<std::shared_ptr<void>> Ingestor::upload_slot(const std::string& bid) {
  const auto cap = settings_.max_concurrent_uploads;
  if (cap <= 0) return std::shared_ptr<void>();
  {
    std::lock_guard lock(uploads_mu_);
    auto& n = uploads_[bid];
    if (n >= cap) {
      Error e(ErrorCode::kRateLimited,
              fmt::format("this business already has {} recordings being uploaded, the most allowed at once; "
                          "retry shortly",
                          cap));
      e.retry_after = std::chrono::seconds(1);
      return std::unexpected(e);
    }
    ++n;
  }
  return std::shared_ptr<void>(nullptr, [this, bid](void*) {
    std::lock_guard lock(uploads_mu_);
    if (auto it = uploads_.find(bid); it != uploads_.end() && --it->second <= 0) uploads_.erase(it);
  });
}

void Ingestor::count(const std::string& source, std::string_view result) {
  if (calls_ != nullptr) calls_->Add({{"source", source}, {"result", std::string(result)}}).Increment();
}

void Ingestor::drop_recording(const storage::TenantId& t, const std::string& uri, std::string_view why) {
  auto st = d_.store.remove(uri);
  if (st) return;
  log::warn("ingest: recording left in the object store without a call",
            {{"bid", t.bid()}, {"uri", uri}, {"why", std::string(why)}, {"error", st.error().to_string()}});
  if (orphans_ != nullptr) orphans_->Add({}).Increment();
}

IngestResult<storage::CallInput> Ingestor::call_input(const storage::TenantId& t, const CallMetadata& meta) {
  if (auto st = meta.validate(); !st) return std::unexpected(IngestError{Problem::kInvalid, st.error()});
  storage::CallInput in;
  in.external_id = meta.external_id;
  if (!meta.customer_phone.empty()) {
    std::string country = "1";
    if (auto c = d_.configs.get(t); c) {
      country = c->default_country_code;
    } else if (c.error().code != ErrorCode::kNotFound) {
      return std::unexpected(failure(c.error()));
    }
    auto phone = storage::normalize_phone_e164(meta.customer_phone, country);
    if (!phone) {
      return std::unexpected(problem(Problem::kInvalid, "customer_phone: " + phone.error().message));
    }
    in.customer_phone = *phone;
  }
  in.customer_name = meta.customer_name;
  in.direction = meta.direction;
  in.city = meta.city;
  in.issue_category = meta.issue_category;
  in.call_context = meta.call_context;
  in.language = meta.language;
  in.started_at = meta.started_at.value_or(std::chrono::time_point_cast<std::chrono::milliseconds>(d_.clock.now()));
  if (!meta.agent_id.empty()) {
    auto& agents = d_.agents;
    std::string name = meta.agent_name;
    if (name.empty()) {
      // Keep a name given earlier rather than overwrite it with the id.
      auto existing = agents.find_by_external_id(t, meta.agent_id);
      if (existing) {
        name = existing->name;
      } else if (existing.error().code != ErrorCode::kNotFound) {
        return std::unexpected(failure(existing.error()));
      } else {
        name = meta.agent_id;
      }
    }
    storage::HumanAgentInput agent;
    agent.external_id = meta.agent_id;
    agent.name = name;
    auto id = agents.upsert(t, agent);
    if (!id) return std::unexpected(failure(id.error()));
    in.human_agent_id = *id;
  }
  json md = meta.extra;
  md["source"] = meta.source;
  in.metadata_json = md.dump();
  return in;
}

Status Ingestor::publish_transcribe(const std::string& bid, const storage::CallRecord& c) {
  // The format comes from the stored object's name, which ends in the detected format
  // (".aiff" gives "wav": the schema names no AIFF, and the stt worker decodes by content).
  std::vector<queue::OutgoingMessage> m;
  m.push_back(queue::make_stage_message(
      d_.topology, queue::TranscribeRequest::for_call(bid, c.id, c.audio_uri, c.channels, c.language)));
  return d_.publish(std::move(m));
}

Status Ingestor::publish_analyze(const std::string& bid, storage::Id call_id) {
  std::vector<queue::OutgoingMessage> m;
  m.push_back(queue::make_stage_message(d_.topology, queue::AnalyzeRequest::for_call(bid, call_id)));
  return d_.publish(std::move(m));
}

namespace {

std::optional<MediaInfo> stored_media(const storage::CallRecord& c) {
  auto md = json::parse(c.metadata_json, nullptr, false);
  if (!md.is_object() || !md.contains("media") || !md["media"].is_object()) return std::nullopt;
  const auto& m = md["media"];
  MediaInfo out;
  out.format = m.value("format", "");
  out.codec = m.value("codec", "");
  out.duration_ms = m.value("duration_ms", std::int64_t{0});
  out.channels = m.value("channels", 0);
  out.sample_rate = m.value("sample_rate", 0);
  out.bytes = m.value("bytes", std::uint64_t{0});
  return out;
}

}  // namespace

IngestResult<Ingested> Ingestor::ingest_audio(const storage::TenantId& t, const CallMetadata& meta,
                                              std::span<const std::uint8_t> bytes) {
  log::ScopedContext ctx({.bid = t.bid(), .call_id = {}, .trace_id = {}});
  auto rejected = [&](IngestError e) -> IngestResult<Ingested> {
    const bool failed = e.problem == Problem::kError || e.problem == Problem::kStoreUnavailable;
    count(meta.source, failed ? "failed" : "rejected");
    return std::unexpected(std::move(e));
  };
  if (auto st = meta.validate(); !st) return rejected(IngestError{Problem::kInvalid, st.error()});
  auto& calls = d_.calls;

  // A re-upload answers with the call as it is; a still pending one is published again.
  auto existing_of = [&](storage::CallRecord c) -> IngestResult<Ingested> {
    auto media = stored_media(c);
    if (c.status == storage::CallStatus::kPending && !c.audio_uri.empty()) {
      if (auto st = publish_transcribe(t.bid(), c); !st) return rejected(failure(st.error()));
    }
    count(meta.source, "existing");
    return Ingested{std::move(c), false, std::move(media)};
  };
  if (auto found = calls.find_by_external_id(t, meta.external_id); found) {
    return existing_of(std::move(*found));
  } else if (found.error().code != ErrorCode::kNotFound) {
    return rejected(failure(found.error()));
  }

  // Decoding and storing cost memory and time: a business has a bounded number at once.
  auto slot = upload_slot(t.bid());
  if (!slot) return rejected(failure(slot.error()));
  auto media = inspect_audio(bytes, settings_);
  if (!media) return rejected(media.error());
  auto in = call_input(t, meta);
  if (!in) return rejected(in.error());

  const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::chrono::year_month_day ymd(std::chrono::floor<std::chrono::days>(in->started_at));
  const auto day = fmt::format("{:04}{:02}{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                               static_cast<unsigned>(ymd.day()));
  const std::string key = fmt::format("{}/ingest/{}/{}-{}.{}", t.bid(), day, hex_prefix(meta.external_id, 16),
                                      hex_prefix(view, 12), media->format);
  auto uri = d_.store.put(key, bytes, "audio/" + media->format);
  // No call without its recording: a store that refuses (credentials, throttling beyond the
  // retries, an outage) answers 503 with the store's reason and nothing is created.
  if (!uri) {
    const Error e = objectstore::object_store_unavailable(uri.error());
    log::warn("ingest: recording not stored", {{"error", e.to_string()}});
    return rejected(IngestError{Problem::kStoreUnavailable, e});
  }
  in->audio_uri = *uri;
  in->channels = media->channels;
  in->duration_ms = media->duration_ms;
  auto md = json::parse(in->metadata_json);
  md["media"] = media->to_json();
  in->metadata_json = md.dump();

  // The call and its note in one transaction.
  storage::PushedCall push;
  push.call = std::move(*in);
  push.note = meta.note;
  auto outcome = calls.insert_pushed(t, push);
  if (!outcome) {
    drop_recording(t, *uri, "the call was not created");
    return rejected(failure(outcome.error()));
  }
  auto call = calls.get(t, outcome->id);
  if (!call) {
    if (!outcome->created) {
      // Another upload owns the call and we cannot read which recording it kept: ours may
      // be the same object (the key is derived from the content), so it is not deleted.
      log::warn("ingest: recording may be left without a call", {{"bid", t.bid()},
                                                                 {"call_id", std::to_string(outcome->id)},
                                                                 {"uri", *uri},
                                                                 {"error", call.error().to_string()}});
    }
    return rejected(failure(call.error()));
  }
  if (!outcome->created) {
    // Another upload of the same external id won the race: keep its recording, drop ours
    // (unless it is the very same object).
    if (call->audio_uri != *uri) drop_recording(t, *uri, "another upload of the same external id won");
    return existing_of(std::move(*call));
  }
  if (auto st = publish_transcribe(t.bid(), *call); !st) {
    // The call stays pending; the client's retry (same external id) publishes it again.
    return rejected(failure(st.error()));
  }
  count(meta.source, "created");
  log::info("call ingested", {{"call_id", std::to_string(call->id)},
                              {"source", meta.source},
                              {"format", media->format},
                              {"duration_ms", std::to_string(media->duration_ms)}});
  if (d_.on_call_created) {
    d_.on_call_created(t.bid(), json{{"call_id", call->id},
                                     {"status", "pending"},
                                     {"previous", nullptr},
                                     {"external_id", call->external_id},
                                     {"source", meta.source}});
  }
  return Ingested{std::move(*call), true, std::move(*media)};
}

IngestResult<Ingested> Ingestor::ingest_transcript(const storage::TenantId& t, const CallMetadata& meta,
                                                   const std::vector<stt::Segment>& segments,
                                                   std::string_view provider) {
  log::ScopedContext ctx({.bid = t.bid(), .call_id = {}, .trace_id = {}});
  auto rejected = [&](IngestError e) -> IngestResult<Ingested> {
    count(meta.source, e.problem == Problem::kError ? "failed" : "rejected");
    return std::unexpected(std::move(e));
  };
  if (segments.empty()) return rejected(problem(Problem::kInvalid, "a transcript needs at least one segment"));
  auto& calls = d_.calls;

  auto existing_of = [&](storage::CallRecord c) -> IngestResult<Ingested> {
    // A text call that stalled before analyze (its message lost) is handed to analyze again;
    // anything else is left alone.
    if (c.audio_uri.empty() && c.status == storage::CallStatus::kTranscribed) {
      if (auto st = publish_analyze(t.bid(), c.id); !st) return rejected(failure(st.error()));
    }
    count(meta.source, "existing");
    return Ingested{std::move(c), false, std::nullopt};
  };
  // A text call an interrupted push left before transcribed goes through insert_pushed below,
  // which completes it.
  if (auto found = calls.find_by_external_id(t, meta.external_id); found) {
    const bool incomplete = found->audio_uri.empty() && (found->status == storage::CallStatus::kPending ||
                                                         found->status == storage::CallStatus::kTranscribing);
    if (!incomplete) return existing_of(std::move(*found));
  } else if (found.error().code != ErrorCode::kNotFound) {
    return rejected(failure(found.error()));
  }
  auto in = call_input(t, meta);
  if (!in) return rejected(in.error());
  std::int64_t duration = 0;
  for (const auto& s : segments) duration = std::max(duration, s.end_ms);
  in->duration_ms = duration;
  in->channels = 1;

  storage::Transcript tr;
  json segs = json::array();
  for (const auto& s : segments) {
    segs.push_back(json{{"speaker", s.speaker},
                        {"start_ms", s.start_ms},
                        {"end_ms", s.end_ms},
                        {"text", s.text},
                        {"confidence", s.confidence}});
    if (!tr.full_text.empty()) tr.full_text += '\n';
    tr.full_text += s.text;
  }
  tr.segments_json = segs.dump();
  tr.provider = std::string(provider);
  tr.language = meta.language.empty() ? "en" : meta.language;

  // The call, its note, its transcript and the step to transcribed in one transaction.
  storage::PushedCall push;
  push.call = std::move(*in);
  push.note = meta.note;
  push.transcript = std::move(tr);
  auto outcome = calls.insert_pushed(t, push);
  if (!outcome) return rejected(failure(outcome.error()));
  auto fresh = calls.get(t, outcome->id);
  if (!fresh) return rejected(failure(fresh.error()));
  if (!outcome->created && !outcome->completed) return existing_of(std::move(*fresh));
  // The client's retry (same external id) publishes again when this fails: the call is
  // transcribed, which existing_of hands to analyze.
  if (auto st = publish_analyze(t.bid(), fresh->id); !st) return rejected(failure(st.error()));
  if (outcome->completed) {
    log::info("ingest: completed a text call an interrupted push left incomplete",
              {{"call_id", std::to_string(fresh->id)}});
    count(meta.source, "existing");
    return Ingested{std::move(*fresh), false, std::nullopt};
  }
  count(meta.source, "created");
  if (d_.on_call_created) {
    d_.on_call_created(t.bid(), json{{"call_id", fresh->id},
                                     {"status", "transcribed"},
                                     {"previous", nullptr},
                                     {"external_id", fresh->external_id},
                                     {"source", meta.source}});
  }
  return Ingested{std::move(*fresh), true, std::nullopt};
}

}  // namespace earshot::ingest

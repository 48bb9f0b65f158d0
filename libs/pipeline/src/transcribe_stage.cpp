#include "earshot/pipeline/transcribe_stage.hpp"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/core/log.hpp"
#include "earshot/stt/local_engine.hpp"
#include "earshot/stt/provider_config.hpp"
#include "earshot/stt/speakers.hpp"

#include <future>

namespace earshot::pipeline {
namespace {

constexpr std::string_view kStage = "transcribe";

// The offline engine over the roles' speech (stereo) or the mono mix.
class LocalTranscriber final : public Transcriber {
 public:
  explicit LocalTranscriber(std::unique_ptr<stt::LocalEngine> engine) : engine_(std::move(engine)) {}
  Result<stt::Transcript> transcribe(const Input& in) override {
    stt::Transcript t;
    t.provider = "pocketsphinx";
    t.language = in.language.empty() ? "en" : in.language;
    const auto& a = *in.audio;
    if (in.stereo) {
      for (auto [role, channel, speech] :
           {std::tuple{"agent", in.agent_channel, in.agent_speech},
            std::tuple{"customer", in.customer_channel, in.customer_speech}}) {
        auto segs = engine_->transcribe(a.channels[static_cast<std::size_t>(channel)], a.sample_rate,
                                        *speech, role);
        if (!segs) return std::unexpected(segs.error());
        t.segments.insert(t.segments.end(), segs->begin(), segs->end());
      }
    } else {
      // No diarization offline: by the agent rule (greeting, else the first speaker) a
      // single speaker is the agent.
      const auto mono = audio::mixdown(a);
      const auto activity = audio::detect_voice(mono, a.sample_rate);
      auto segs = engine_->transcribe(mono, a.sample_rate, activity.speech, "agent");
      if (!segs) return std::unexpected(segs.error());
      t.segments = std::move(*segs);
    }
    std::sort(t.segments.begin(), t.segments.end(),
              [](const stt::Segment& x, const stt::Segment& y) { return x.start_ms < y.start_ms; });
    return t;
  }

 private:
  std::unique_ptr<stt::LocalEngine> engine_;
};

class NoTranscriber final : public Transcriber {
 public:
  Result<stt::Transcript> transcribe(const Input& in) override {
    stt::Transcript t;
    t.provider = "none";
    t.language = in.language;
    return t;
  }
};

Result<storage::Id> parse_call_id(const std::string& s) {
  storage::Id id = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || p != s.data() + s.size() || id <= 0) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("call_id '{}' is not a call id", s));
  }
  return id;
}

analytics::ChannelMap channel_map_from(const std::string& roles_json) {
  analytics::ChannelMap map;
  auto j = nlohmann::json::parse(roles_json, nullptr, false);
  if (!j.is_object()) return map;
  for (const auto& [ch, role] : j.items()) {
    if (!role.is_string()) continue;
    const int channel = ch == "1" ? 1 : ch == "0" ? 0 : -1;
    if (channel < 0) continue;
    if (role == "agent") map.agent_channel = channel;
    if (role == "customer") map.customer_channel = channel;
  }
  if (map.agent_channel == map.customer_channel) return analytics::ChannelMap{};
  return map;
}

std::optional<double> opt(double v, bool present) { return present ? std::optional(v) : std::nullopt; }

}  // namespace

Result<std::shared_ptr<Transcriber>> LocalTranscriberFactory::for_config(const storage::PipelineConfig& config) {
  const auto& provider = config.stt_provider;
  if (provider == "none") return std::make_shared<NoTranscriber>();
  if (provider == "pocketsphinx" || provider == "local" || provider.empty()) {
    thread_local std::shared_ptr<LocalTranscriber> local;
    if (!local) {
      auto engine = stt::LocalEngine::create();
      if (!engine) return std::unexpected(engine.error());
      local = std::make_shared<LocalTranscriber>(std::move(*engine));
    }
    return local;
  }
  return make_error(ErrorCode::kFailedPrecondition,
                    fmt::format("speech provider '{}' is not available in this worker", provider));
}

namespace {

// One provider job, waited for on the handler thread.
class ProviderTranscriber final : public Transcriber {
 public:
  ProviderTranscriber(std::unique_ptr<stt::SttProvider> provider, std::chrono::milliseconds deadline)
      : provider_(std::move(provider)), deadline_(deadline) {}

  Result<stt::Transcript> transcribe(const Input& in) override {
    stt::SttJob job;
    job.audio = std::string(in.encoded);
    job.channels = static_cast<int>(in.audio->channels.size());
    job.duration = std::chrono::milliseconds(in.audio->duration_ms());
    job.language = in.language;
    job.separate_channels = in.stereo;
    job.diarize = !in.stereo;
    auto promise = std::make_shared<std::promise<Result<stt::Transcript>>>();
    auto future = promise->get_future();
    provider_->transcribe(std::move(job), [promise](Result<stt::Transcript> r) { promise->set_value(std::move(r)); });
    // The provider enforces its own job deadline; this bound only guards against a lost callback.
    if (future.wait_for(deadline_ + std::chrono::seconds(30)) != std::future_status::ready) {
      return make_error(ErrorCode::kTimeout, fmt::format("{}: no answer within the job deadline", provider_->name()));
    }
    auto t = future.get();
    if (!t) return t;
    stt::SpeakerMapping mapping;
    mapping.agent_on_left = in.agent_channel == 0;
    stt::map_speakers(*t, mapping);
    std::sort(t->segments.begin(), t->segments.end(),
              [](const stt::Segment& x, const stt::Segment& y) { return x.start_ms < y.start_ms; });
    return t;
  }

 private:
  std::unique_ptr<stt::SttProvider> provider_;
  std::chrono::milliseconds deadline_;
};

}  // namespace

ProviderTranscriberFactory::ProviderTranscriberFactory(http::HttpClient& client, const Clock& clock, Metrics& metrics)
    : client_(client), clock_(clock) {
  requests_ = &metrics.counter("earshot_stt_provider_requests_total", "Speech provider HTTP requests by provider and status.");
}

Result<std::shared_ptr<Transcriber>> ProviderTranscriberFactory::for_config(const storage::PipelineConfig& config) {
  const auto& provider = config.stt_provider;
  if (provider == "none" || provider == "pocketsphinx" || provider == "local" || provider.empty()) {
    return LocalTranscriberFactory::for_config(config);
  }
  auto options = nlohmann::json::parse(config.stt_options_json.empty() ? "{}" : config.stt_options_json, nullptr, false);
  if (!options.is_object()) return make_error(ErrorCode::kInvalidArgument, "stt options are not a JSON object");
  options["provider"] = provider;
  if (auto key = config.secrets.find("stt_api_key"); key != config.secrets.end()) options["api_key"] = key->second;
  auto pc = stt::parse_provider_config(options.dump());
  if (!pc) return std::unexpected(pc.error().with_context("stt options"));
  auto* requests = requests_;
  pc->on_request = [requests, provider](const stt::RequestOutcome& o) {
    requests->Add({{"provider", provider}, {"status", o.status == 0 ? std::string("error") : std::to_string(o.status)}})
        .Increment();
  };
  auto p = stt::make_provider(*pc, client_, clock_);
  if (!p) return std::unexpected(p.error());
  return std::make_shared<ProviderTranscriber>(std::move(*p), pc->deadline);
}

TranscribeStage::TranscribeStage(TranscribeStageDeps deps) : d_(std::move(deps)) {
  transcribed_ = &d_.prometheus.counter("earshot_calls_transcribed_total", "Calls transcribed, by business.");
  failed_ = &d_.prometheus.counter("earshot_calls_failed_total", "Calls failed, by stage and reason code.");
  duration_ = &d_.prometheus.histogram("earshot_stt_duration_seconds",
                                       "Time to decode, measure and transcribe one call, by provider.");
  audio_seconds_ = &d_.prometheus.counter("earshot_audio_processed_seconds_total",
                                          "Seconds of call audio decoded and measured.").Add({});
}

queue::HandlerResult TranscribeStage::handle(const queue::IncomingMessage& msg) {
  const auto t0 = d_.clock.steady_now();
  auto body = nlohmann::json::parse(msg.body, nullptr, false);
  if (!body.is_object() || !body.contains("call_id") || !body["call_id"].is_string()) {
    return queue::Outcome{queue::Fail{"body has no call_id", ErrorCode::kInvalidArgument}};
  }
  auto call_id = parse_call_id(body["call_id"].get<std::string>());
  if (!call_id) return queue::Outcome{queue::Fail{call_id.error().message, ErrorCode::kInvalidArgument}};
  auto tenant = storage::TenantId::make(msg.envelope.bid);
  if (!tenant) return queue::Outcome{queue::Fail{tenant.error().message, ErrorCode::kInvalidArgument}};
  const auto& t = *tenant;
  log::ScopedContext ctx({.bid = t.bid(), .call_id = std::to_string(*call_id), .trace_id = msg.envelope.trace_id});

  auto event = [&](storage::EventOutcome outcome, std::string error) {
    storage::ProcessingEvent e;
    e.call_id = *call_id;
    e.stage = std::string(kStage);
    e.outcome = outcome;
    e.attempt = msg.envelope.attempt;
    e.error = std::move(error);
    e.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(d_.clock.steady_now() - t0).count();
    e.created_at = std::chrono::time_point_cast<std::chrono::milliseconds>(d_.clock.now());
    if (auto st = d_.events.append(t, e); !st) {
      log::warn("processing event not recorded", {{"error", st.error().to_string()}});
    }
  };
  auto analyze_message = [&] {
    queue::Envelope env;
    env.bid = t.bid();
    env.stage = queue::Stage::kAnalyze;
    env.trace_id = msg.envelope.trace_id;
    nlohmann::json out{{"schema_version", 1},
                       {"bid", t.bid()},
                       {"call_id", std::to_string(*call_id)},
                       {"transcript_id", std::to_string(*call_id)}};
    return queue::make_stage_message(d_.topology, env, out.dump());
  };
  auto fail_call = [&](const Error& e) -> queue::HandlerResult {
    // The call records why; the message goes to the dead-letter queue with the same reason.
    if (auto st = d_.calls.mark_failed(t, *call_id, kStage, e.message); !st) {
      return std::unexpected(st.error());  // database down: retry the whole message later
    }
    event(storage::EventOutcome::kFailed, e.to_string());
    failed_->Add({{"stage", std::string(kStage)}, {"code", std::string(code_name(e.code))}}).Increment();
    log::warn("call failed", {{"stage", kStage}, {"reason", e.message}});
    return queue::Outcome{queue::Fail{e.message, e.code}};
  };

  auto call = d_.calls.get(t, *call_id);
  if (!call) {
    if (call.error().code == ErrorCode::kNotFound) {
      return queue::Outcome{queue::Fail{fmt::format("call {} does not exist for business {}", *call_id, t.bid()),
                                        ErrorCode::kNotFound}};
    }
    return std::unexpected(call.error());
  }
  switch (call->status) {
    case storage::CallStatus::kTranscribed:
      // Transcribed, but its analyze message may not have been confirmed before a crash.
      event(storage::EventOutcome::kSkipped, "already transcribed");
      return queue::Outcome{queue::Done{{analyze_message()}}};
    case storage::CallStatus::kAnalyzing:
    case storage::CallStatus::kAnalyzed:
    case storage::CallStatus::kNotified:
    case storage::CallStatus::kFailed:
      event(storage::EventOutcome::kSkipped, fmt::format("call is {}", storage::status_name(call->status)));
      return queue::Outcome{queue::Done{}};
    case storage::CallStatus::kPending: {
      auto moved = d_.calls.advance(t, *call_id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing);
      if (!moved) return std::unexpected(moved.error());
      break;
    }
    case storage::CallStatus::kTranscribing:
      break;  // a redelivery after a crash mid-work: do it again
  }
  event(storage::EventOutcome::kStarted, "");

  storage::PipelineConfig config;
  if (auto c = d_.configs.get(t); c) {
    config = std::move(*c);
  } else if (c.error().code != ErrorCode::kNotFound) {
    return std::unexpected(c.error());
  }

  std::string uri = call->audio_uri;
  if (uri.empty() && body.contains("audio") && body["audio"].is_object() && body["audio"].contains("uri")) {
    uri = body["audio"]["uri"].get<std::string>();
  }
  auto bytes = d_.store.read(uri, d_.limits.max_bytes);
  if (!bytes) {
    if (message_fate(bytes.error().code) == MessageFate::kRetry) return std::unexpected(bytes.error());
    return fail_call(bytes.error());
  }
  auto decoded = audio::decode(*bytes, d_.limits);
  if (!decoded) return fail_call(decoded.error());
  const auto& a = *decoded;
  audio_seconds_->Increment(static_cast<double>(a.duration_ms()) / 1000.0);

  auto transcriber = d_.transcribers.for_config(config);
  if (!transcriber) return fail_call(transcriber.error());

  const bool stereo = a.channels.size() >= 2;
  const auto map = channel_map_from(config.channel_roles_json);
  analytics::AudioMeasurement m;
  Transcriber::Input in;
  in.audio = &a;
  in.stereo = stereo;
  in.agent_channel = map.agent_channel;
  in.customer_channel = map.customer_channel;
  in.language = call->language.empty() ? config.language : call->language;
  in.encoded = std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  if (stereo) {
    auto measured = analytics::measure_stereo(a, map);
    if (!measured) return fail_call(measured.error());
    m = std::move(*measured);
    in.agent_speech = &m.agent_speech;
    in.customer_speech = &m.customer_speech;
  }
  auto transcript = (*transcriber)->transcribe(in);
  if (!transcript) {
    if (message_fate(transcript.error().code) == MessageFate::kRetry) return std::unexpected(transcript.error());
    return fail_call(transcript.error());
  }
  if (!stereo) {
    std::vector<audio::Interval> agent, customer;
    for (const auto& s : transcript->segments) {
      // Only the two parties count towards talk metrics; "other" and "unknown" voices do not.
      if (s.speaker == "agent") agent.push_back({s.start_ms, s.end_ms});
      if (s.speaker == "customer") customer.push_back({s.start_ms, s.end_ms});
    }
    m = analytics::measure_from_segments(a, agent, customer);
  }

  // Transcript.
  storage::Transcript tr;
  tr.call_id = *call_id;
  tr.provider = transcript->provider;
  tr.language = transcript->language;
  nlohmann::json segs = nlohmann::json::array();
  int agent_words = 0, customer_words = 0;
  for (const auto& s : transcript->segments) {
    segs.push_back({{"speaker", s.speaker},
                    {"start_ms", s.start_ms},
                    {"end_ms", s.end_ms},
                    {"text", s.text},
                    {"confidence", s.confidence}});
    if (!tr.full_text.empty()) tr.full_text += '\n';
    tr.full_text += s.text;
    if (s.speaker == "agent") agent_words += stt::count_words(s.text);
    if (s.speaker == "customer") customer_words += stt::count_words(s.text);
  }
  tr.segments_json = segs.dump();
  if (auto st = d_.transcripts.put(t, tr); !st) return std::unexpected(st.error());

  // Metrics.
  const auto& c = m.conversation;
  storage::CallMetrics cm;
  cm.call_id = *call_id;
  cm.source = m.source == analytics::MetricSource::kAudio ? storage::MetricsSource::kAudio
                                                          : storage::MetricsSource::kTranscript;
  cm.duration_ms = a.duration_ms();
  cm.agent_talk_ms = c.agent.talk_ms;
  cm.customer_talk_ms = c.customer.talk_ms;
  const bool spoke = c.agent.talk_ms + c.customer.talk_ms > 0;
  cm.agent_talk_ratio = opt(c.agent_talk_ratio, spoke);
  cm.agent_talk_pct_of_call = opt(c.agent_talk_share_of_call, a.duration_ms() > 0);
  cm.non_talk_ms = c.non_talk_ms;
  nlohmann::json sil = nlohmann::json::array();
  for (const auto& s : c.silences) sil.push_back({{"start_ms", s.start_ms}, {"end_ms", s.end_ms}, {"duration_ms", s.length()}});
  cm.silences_json = sil.dump();
  cm.overtalk_ms = c.overtalk_ms;
  cm.overtalk_count = static_cast<std::int64_t>(c.overtalk.size());
  cm.agent_interruptions = c.agent.interruptions;
  cm.agent_interruption_ms = c.agent.interruption_ms;
  cm.customer_interruptions = c.customer.interruptions;
  cm.customer_interruption_ms = c.customer.interruption_ms;
  cm.agent_loudness_mean_dbfs = opt(m.loudness.agent.mean_dbfs, m.loudness.agent.frames > 0);
  cm.agent_loudness_peak_dbfs = opt(m.loudness.agent.peak_dbfs, m.loudness.agent.frames > 0);
  cm.customer_loudness_mean_dbfs = opt(m.loudness.customer.mean_dbfs, m.loudness.customer.frames > 0);
  cm.customer_loudness_peak_dbfs = opt(m.loudness.customer.peak_dbfs, m.loudness.customer.frames > 0);
  nlohmann::json series = nlohmann::json::object();
  if (stereo) {
    series["agent"] = m.loudness_series[static_cast<std::size_t>(map.agent_channel)];
    series["customer"] = m.loudness_series[static_cast<std::size_t>(map.customer_channel)];
  } else if (!m.loudness_series.empty()) {
    series["mix"] = m.loudness_series[0];
  }
  series["step_ms"] = 1000;
  cm.loudness_series_json = series.dump();
  cm.longest_monologue_ms = c.agent.longest_turn_ms;
  cm.longest_customer_story_ms = c.customer.longest_turn_ms;
  cm.interactivity_per_min = c.interactivity;
  cm.patience_ms = opt(c.patience_ms, c.patience_samples > 0);
  const bool transcribed = transcript->provider != "none";
  cm.agent_wpm = opt(agent_words / (static_cast<double>(c.agent.talk_ms) / 60000.0), transcribed && c.agent.talk_ms > 0);
  cm.customer_wpm = opt(customer_words / (static_cast<double>(c.customer.talk_ms) / 60000.0),
                        transcribed && c.customer.talk_ms > 0);
  if (auto st = d_.metrics.put(t, cm); !st) return std::unexpected(st.error());

  auto moved = d_.calls.advance(t, *call_id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed);
  if (!moved) return std::unexpected(moved.error());
  const auto took = d_.clock.steady_now() - t0;
  duration_->Add({{"provider", transcript->provider}}, Metrics::latency_buckets())
      .Observe(std::chrono::duration<double>(took).count());
  transcribed_->Add({{"provider", transcript->provider}}).Increment();
  event(storage::EventOutcome::kSucceeded, "");
  log::info("call transcribed", {{"provider", transcript->provider},
                                 {"source", analytics::source_name(m.source)},
                                 {"segments", std::to_string(transcript->segments.size())},
                                 {"duration_ms", std::to_string(a.duration_ms())}});
  return queue::Outcome{queue::Done{{analyze_message()}}};
}

}  // namespace earshot::pipeline

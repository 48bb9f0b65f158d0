#include "earshot/pipeline/transcribe_stage.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/analytics/language.hpp"
#include "earshot/audio/diarize.hpp"
#include "earshot/core/log.hpp"
#include "earshot/pipeline/call_language.hpp"
#include "earshot/pipeline/provider_checks.hpp"
#include "earshot/pipeline/work_pool.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/outcome.hpp"
#include "earshot/storage/config_cache.hpp"
#include "earshot/storage/stage_call.hpp"
#include "earshot/stt/local_engine.hpp"
#include "earshot/stt/provider_config.hpp"
#include "earshot/stt/speakers.hpp"
#include "earshot/stt/vocabulary.hpp"

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
      for (auto [role, channel, speech] : {std::tuple{"agent", in.agent_channel, in.agent_speech},
                                           std::tuple{"customer", in.customer_channel, in.customer_speech}}) {
        auto segs = engine_->transcribe(a.channels[static_cast<std::size_t>(channel)], a.sample_rate, *speech, role);
        if (!segs) return std::unexpected(segs.error());
        t.segments.insert(t.segments.end(), segs->begin(), segs->end());
      }
    } else {
      // Mono: two speakers by offline diarization, each turn decoded as one utterance; the
      // roles by the greeting rule (a single voice is the agent).
      const auto mono = audio::mixdown(a);
      const auto activity = audio::detect_voice(mono, a.sample_rate);
      const auto diarized = audio::diarize(mono, a.sample_rate, activity.speech);
      for (int speaker = 0; speaker < diarized.speakers; ++speaker) {
        std::vector<audio::Interval> turns;
        for (const auto& turn : diarized.turns)
          if (turn.speaker == speaker) turns.push_back({turn.start_ms, turn.end_ms});
        auto segs = engine_->transcribe(mono, a.sample_rate, turns, fmt::format("speaker_{}", speaker));
        if (!segs) return std::unexpected(segs.error());
        t.segments.insert(t.segments.end(), segs->begin(), segs->end());
      }
      stt::map_speakers(t);
    }
    // Stable: segments starting together keep the agent's first.
    std::stable_sort(t.segments.begin(), t.segments.end(),
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

std::optional<double> opt(double v, bool present) {
  return present ? std::optional(v) : std::nullopt;
}

}  // namespace

void set_language(stt::Transcript& t, std::string_view configured) {
  if (!t.language_source.empty()) return;
  std::string text;
  for (const auto& s : t.segments) {
    if (!text.empty()) text += '\n';
    text += s.text;
  }
  auto lang = resolve_call_language(t.reported_language, text, configured);
  t.language = std::move(lang.tag);
  t.language_source = std::move(lang.source);
}

analytics::AudioMeasurement measure_by_transcript(const audio::AudioBuffer& audio,
                                                  const std::vector<stt::Segment>& segments) {
  std::vector<audio::Interval> agent, customer;
  for (const auto& seg : segments) {
    // Only the two parties count towards talk metrics; "other" and "unknown" voices do not.
    if (seg.speaker == "agent") agent.push_back({seg.start_ms, seg.end_ms});
    if (seg.speaker == "customer") customer.push_back({seg.start_ms, seg.end_ms});
  }
  return analytics::measure_from_segments(audio, agent, customer);
}

namespace {

// The in-process transcribers (empty: the offline engine, the column's old default).
bool is_local(std::string_view provider) {
  return provider == "none" || provider == "pocketsphinx" || provider == "local" || provider.empty();
}

}  // namespace

Status check_stt_provider(std::string_view stt_provider) {
  if (is_local(stt_provider) || stt::is_known_provider(stt_provider)) return {};
  return make_error(
      ErrorCode::kInvalidArgument,
      fmt::format("stt_provider must be one of pocketsphinx, local, none, {}", stt::known_provider_names()));
}

Status check_local_stt_options(std::string_view stt_options_json) {
  auto o = stt::parse_local_stt_options(stt_options_json);
  if (!o) return std::unexpected(o.error());
  return {};
}

namespace {

// The business's vocabulary for the offline engine: the "vocabulary" of its stt_options
// (other keys belong to other providers and are left alone here; the config route refuses
// them for pocketsphinx).
Result<std::vector<stt::VocabularyWord>> local_vocabulary(const std::string& stt_options_json) {
  auto j = nlohmann::json::parse(stt_options_json.empty() ? "{}" : stt_options_json, nullptr, false);
  if (!j.is_object() || !j.contains("vocabulary")) return std::vector<stt::VocabularyWord>{};
  auto o = stt::parse_local_stt_options(nlohmann::json{{"vocabulary", j["vocabulary"]}}.dump());
  if (!o) return std::unexpected(o.error());
  return std::move(o->vocabulary);
}

// Engines per calling thread, one per vocabulary (the decoder's dictionary and language
// model hold the words), the least recently used dropped beyond this many.
constexpr std::size_t kEnginesPerThread = 2;

}  // namespace

Result<std::shared_ptr<Transcriber>> LocalTranscriberFactory::for_config(const storage::PipelineConfig& config) {
  const auto& provider = config.stt_provider;
  if (provider == "none") return std::make_shared<NoTranscriber>();
  if (is_local(provider)) {
    auto vocabulary = local_vocabulary(config.stt_options_json);
    if (!vocabulary) return std::unexpected(vocabulary.error());
    std::string key;
    for (const auto& v : *vocabulary)
      key += fmt::format("{}|{}|{}|{};", v.word, v.sounds_like, v.pronunciation, v.boost);
    thread_local std::deque<std::pair<std::string, std::shared_ptr<LocalTranscriber>>> engines;
    for (auto it = engines.begin(); it != engines.end(); ++it) {
      if (it->first != key) continue;
      auto hit = *it;
      engines.erase(it);
      engines.push_front(hit);
      return hit.second;
    }
    stt::LocalEngineOptions options;
    options.vocabulary = std::move(*vocabulary);
    auto engine = stt::LocalEngine::create(options);
    if (!engine) return std::unexpected(engine.error());
    engines.emplace_front(key, std::make_shared<LocalTranscriber>(std::move(*engine)));
    if (engines.size() > kEnginesPerThread) engines.pop_back();
    return engines.front().second;
  }
  return make_error(ErrorCode::kFailedPrecondition,
                    fmt::format("speech provider '{}' is not available in this worker", provider));
}

namespace {

// Speech providers reached over HTTP (everything but the in-process engines).
bool is_remote(const std::string& provider) {
  return !is_local(provider);
}

// One provider job per call: the request goes out on the HTTP loop and the answer comes back
// there, with speakers mapped to roles.
class ProviderTranscriber final : public Transcriber {
  static constexpr std::size_t kSniffBytes = 64;  // enough of a file to tell its format

 public:
  ProviderTranscriber(std::unique_ptr<stt::SttProvider> provider, std::chrono::milliseconds deadline)
      : provider_(std::move(provider)), deadline_(deadline) {}

  Result<stt::Transcript> transcribe(const Input& in) override {
    auto promise = std::make_shared<std::promise<Result<stt::Transcript>>>();
    auto future = promise->get_future();
    transcribe_async(in, [promise](Result<stt::Transcript> r) { promise->set_value(std::move(r)); });
    // The provider enforces its own job deadline; this bound only guards against a lost callback.
    if (future.wait_for(deadline_ + std::chrono::seconds(30)) != std::future_status::ready) {
      return make_error(ErrorCode::kTimeout, fmt::format("{}: no answer within the job deadline", provider_->name()));
    }
    return future.get();
  }

  void transcribe_async(const Input& in, Callback done) override {
    stt::SttJob job;
    if (in.file && provider_->streams_files()) {
      // Sent from the stored file as it is read: nothing of it held while the provider works.
      job.audio = std::string(in.encoded.substr(0, kSniffBytes));
      job.audio_file =
          std::make_shared<const http::FileBody>(http::FileBody{.path = *in.file, .length = in.encoded.size()});
    } else {
      job.audio = std::string(in.encoded);
    }
    job.channels = static_cast<int>(in.audio->channels.size());
    job.duration = std::chrono::milliseconds(in.audio->duration_ms());
    job.language = in.language;
    job.separate_channels = in.stereo;
    job.diarize = !in.stereo;
    job.id = "transcript";
    job.ledger = in.ledger;
    // A provider that renders speech in English keeps the file for a second job, made only
    // when the call turns out not to be in English.
    std::shared_ptr<stt::SttJob> translate;
    if (provider_->supports_translation()) {
      translate = std::make_shared<stt::SttJob>(job);
      translate->translate = true;
      translate->id = "english";  // its own provider job
    }
    const bool agent_on_left = in.agent_channel == 0;
    provider_->transcribe(std::move(job), [provider = provider_, done = std::move(done), agent_on_left, translate,
                                           configured = in.language](Result<stt::Transcript> t) mutable {
      if (t) {
        stt::SpeakerMapping mapping;
        mapping.agent_on_left = agent_on_left;
        stt::map_speakers(*t, mapping);
        std::stable_sort(t->segments.begin(), t->segments.end(),
                         [](const stt::Segment& x, const stt::Segment& y) { return x.start_ms < y.start_ms; });
        set_language(*t, configured);
        if (translate && !analytics::is_english(t->language) && !t->segments.empty()) {
          add_english(*provider, std::move(*t), std::move(*translate), std::move(done));
          return;
        }
      }
      auto d = std::move(done);
      d(std::move(t));
    });
  }

 private:
  // The provider's speech-to-English job, its pieces put on the transcript's segments. A
  // failed translation leaves the call without a rendering (logged): the analyze stage may
  // still make one with the business's LLM chain.
  static void add_english(stt::SttProvider& provider, stt::Transcript t, stt::SttJob job, Callback done) {
    auto original = std::make_shared<stt::Transcript>(std::move(t));
    provider.transcribe(std::move(job), [original, done = std::move(done)](Result<stt::Transcript> english) {
      if (english) {
        original->english = align_english(original->segments, english->segments);
        original->english_source = "sarvam";
      } else {
        log::warn("speech-to-English translation failed: the call keeps its original transcript only",
                  {{"language", original->language}, {"error", english.error().to_string()}});
      }
      auto d = done;
      d(std::move(*original));
    });
  }

  std::shared_ptr<stt::SttProvider> provider_;  // shared with the callbacks of its jobs
  std::chrono::milliseconds deadline_;
};

}  // namespace

ProviderTranscriberFactory::ProviderTranscriberFactory(http::HttpClient& client, const Clock& clock, Metrics& metrics,
                                                       cache::ProviderErrorRecorder* errors)
    : client_(client), clock_(clock), errors_(errors) {
  requests_ =
      &metrics.counter("earshot_stt_provider_requests_total", "Speech provider HTTP requests by provider and status.");
}

Result<std::shared_ptr<Transcriber>> ProviderTranscriberFactory::for_config(const storage::PipelineConfig& config) {
  return for_business({}, config);
}

Result<std::shared_ptr<Transcriber>> ProviderTranscriberFactory::for_business(const std::string& bid,
                                                                              const storage::PipelineConfig& config) {
  const auto& provider = config.stt_provider;
  if (!is_remote(provider)) return LocalTranscriberFactory::for_config(config);
  auto options =
      nlohmann::json::parse(config.stt_options_json.empty() ? "{}" : config.stt_options_json, nullptr, false);
  if (!options.is_object()) return make_error(ErrorCode::kInvalidArgument, "stt options are not a JSON object");
  options["provider"] = provider;
  if (auto key = config.secrets.find("stt_api_key"); key != config.secrets.end()) options["api_key"] = key->second;
  auto pc = stt::parse_provider_config(options.dump());
  if (!pc) return std::unexpected(pc.error().with_context("stt options"));
  auto* requests = requests_;
  auto errors = bid.empty() ? http::RequestObserver{} : provider_error_observer(errors_, bid, "stt", provider);
  pc->on_request = [requests, provider, errors = std::move(errors)](const http::RequestOutcome& o) {
    requests->Add({{"provider", provider}, {"status", o.status == 0 ? std::string("error") : std::to_string(o.status)}})
        .Increment();
    if (errors) errors(o);
  };
  auto p = stt::make_provider(*pc, client_, clock_);
  if (!p) return std::unexpected(p.error());
  return std::make_shared<ProviderTranscriber>(std::move(*p), pc->deadline);
}

// ---------------------------------------------------------------------------- settings

void TranscribeStageSettings::declare(ConfigSpec& spec) {
  spec.add_int("stt_provider_in_flight", &provider_in_flight, 500, 1, 20000,
               "Calls holding one speech provider (sarvam, deepgram, ...) at once; the rest wait.");
  spec.add_int("stt_audio_in_flight", &audio_in_flight, 4, 1, 1000,
               "Calls whose recording is read and decoded before their provider has it, at once; the rest "
               "wait unread (bounds memory when the CPU threads fall behind).");
  spec.add_int("stt_work_threads", &work_threads, 2, 1, 64,
               "CPU threads for decoding, measuring and the offline engine.");
  spec.add_int("stt_db_threads", &db_threads, 2, 1, 256,
               "Threads for database steps (keep mysql_pool_size at least as large).");
  spec.add_duration("stt_config_cache_ttl", &config_ttl, std::chrono::seconds(5), std::chrono::seconds(0),
                    std::chrono::minutes(10),
                    "How long a business's pipeline config is reused before it is read again (0: every call).");
}

TranscribeStageOptions TranscribeStageSettings::options() const {
  TranscribeStageOptions o;
  o.work_threads = static_cast<std::size_t>(work_threads);
  o.db_threads = static_cast<std::size_t>(db_threads);
  o.provider_in_flight = static_cast<std::size_t>(provider_in_flight);
  o.audio_in_flight = static_cast<std::size_t>(audio_in_flight);
  o.config_ttl = config_ttl;
  return o;
}

// ---------------------------------------------------------------------------- the stage

// A job moves through steps: load (work thread) -> fetch (HTTP loop for URLs) -> decode and
// measure (work thread) -> transcribe (work thread for the offline engine; the HTTP loop for
// providers, after a provider slot is free) -> store (work thread) -> completion.
//
// Job order: each job is numbered when it starts, and every step it posts to a pool carries
// that number (WorkPool's order key), as does its wait for a provider slot. The oldest job's
// next step runs first and the oldest waiting job gets the next free slot, so a backlog
// finishes call by call in the order it started, instead of every call's decode running
// before any call's transcript is stored.

struct TranscribeStage::Job {
  std::shared_ptr<Shared> shared;  // keeps the pool and the provider slots alive for callbacks
  queue::Envelope envelope;
  std::string body_text;
  queue::StageCompletion done;
  std::chrono::steady_clock::time_point t0{};
  std::uint64_t order = 0;               // when it started, among the stage's jobs: its steps' order key
  std::optional<storage::StageCall> sc;  // the call the message names, once read
  storage::Id call_id = 0;
  storage::CallRecord call;
  storage::PipelineConfig config;
  std::vector<std::uint8_t> bytes;  // the file as fetched (kept past the provider call for mono calls)
  std::optional<std::string> file;  // where the store keeps it on this machine, if it does
  std::optional<audio::AudioBuffer> audio;
  std::int64_t duration_ms = 0;
  bool stereo = false;
  analytics::ChannelMap map;
  analytics::AudioMeasurement measured;
  std::shared_ptr<Transcriber> transcriber;
  std::shared_ptr<stt::JobLedger> ledger;  // the call's provider jobs (Sarvam); null: none
  std::string slot;                        // the provider whose slot this job holds; empty: none
  std::atomic<bool> holds_audio{false};    // holds one of the stage's audio_in_flight places
  storage::Transcript transcript;          // rows built on a CPU thread, written on a database thread
  storage::CallMetrics call_metrics;
  std::size_t segments = 0;
  bool finished = false;
};

namespace {
using JobPtr = std::shared_ptr<TranscribeStage::Job>;
using Step = void (*)(const JobPtr&);
}  // namespace

struct TranscribeStage::Shared {
  TranscribeStageDeps d;
  TranscribeStageOptions opt;
  storage::CachedPipelineConfigRepository configs;  // d.configs for opt.config_ttl
  prometheus::Family<prometheus::Counter>* transcribed;
  prometheus::Family<prometheus::Counter>* failed;
  prometheus::Family<prometheus::Histogram>* duration;
  prometheus::Counter* audio_seconds;
  prometheus::Family<prometheus::Counter>* call_audio_seconds;
  prometheus::Family<prometheus::Gauge>* provider_in_flight;
  prometheus::Family<prometheus::Gauge>* provider_waiting;
  prometheus::Gauge* audio_in_flight_gauge;
  prometheus::Gauge* audio_waiting_gauge;
  prometheus::Family<prometheus::Counter>* provider_jobs;

  struct Lane {
    std::size_t in_flight = 0;
    std::multimap<std::uint64_t, std::function<void()>> waiting;  // by job order: oldest first
  };
  std::mutex lanes_mu;
  std::map<std::string, Lane> lanes;
  std::atomic<std::uint64_t> started{0};  // jobs started: the next job's order

  // Last members: their threads are joined before the rest is destroyed.
  WorkPool cpu;  // decoding, measuring, the offline engine
  WorkPool db;   // repository calls and the local object store (blocking I/O)

  Shared(TranscribeStageDeps deps, TranscribeStageOptions o)
      : d(std::move(deps)),
        opt(o),
        configs(d.configs, d.clock, o.config_ttl),
        cpu(std::max<std::size_t>(1, o.work_threads)),
        db(std::max<std::size_t>(1, o.db_threads)) {
    auto& m = d.prometheus;
    transcribed = &m.counter("earshot_calls_transcribed_total", "Calls transcribed, by speech provider.");
    failed = &m.counter("earshot_calls_failed_total", "Calls failed, by stage and reason code.");
    duration = &m.histogram("earshot_stt_duration_seconds",
                            "Time to fetch, decode, measure and transcribe one call, by provider.");
    audio_seconds =
        &m.counter("earshot_audio_processed_seconds_total", "Seconds of call audio decoded and measured.").Add({});
    call_audio_seconds = &m.counter("earshot_stt_audio_seconds_total",
                                    "Seconds of the calls transcribed, by business and speech provider (none: "
                                    "the call came with its transcript).");
    provider_in_flight = &m.gauge("earshot_stt_provider_in_flight", "Calls holding a speech provider slot now.");
    provider_waiting = &m.gauge("earshot_stt_provider_waiting", "Calls waiting for a speech provider slot.");
    audio_in_flight_gauge = &m.gauge("earshot_stt_audio_in_flight",
                                     "Calls whose recording is read or decoded before their provider has it.")
                                 .Add({});
    audio_waiting_gauge =
        &m.gauge("earshot_stt_audio_waiting", "Calls waiting for a place to read and decode their recording.").Add({});
    provider_jobs = &m.counter("earshot_stt_provider_jobs_total",
                               "Jobs run on a speech provider's side (Sarvam batch), by event: started, or resumed "
                               "by a redelivered call.");
  }

  // Runs `go` once the provider has a free slot: at once on this thread, or later on the
  // database pool (`go` reads the recording) with the job's `order`, the oldest waiting job
  // first.
  void acquire(const std::string& key, std::uint64_t order, std::function<void()> go) {
    {
      std::lock_guard l(lanes_mu);
      auto& lane = lanes[key];
      if (lane.in_flight >= capacity(key)) {
        lane.waiting.emplace(order, std::move(go));
        gauge(provider_waiting, key).Set(static_cast<double>(lane.waiting.size()));
        return;
      }
      ++lane.in_flight;
      gauge(provider_in_flight, key).Set(static_cast<double>(lane.in_flight));
    }
    go();
  }

  // The lane of the audio_in_flight places (no provider is named like it).
  static constexpr std::string_view kAudioLane = "(audio)";
  std::size_t capacity(const std::string& key) const {
    return std::max<std::size_t>(1, key == kAudioLane ? opt.audio_in_flight : opt.provider_in_flight);
  }
  prometheus::Gauge& gauge(prometheus::Family<prometheus::Gauge>* provider_family, const std::string& key) {
    if (key != kAudioLane) return provider_family->Add({{"provider", key}});
    return provider_family == provider_in_flight ? *audio_in_flight_gauge : *audio_waiting_gauge;
  }

  // Frees a slot; the oldest waiter (if any) takes it over and runs on the pool.
  void release(const std::string& key) {
    std::function<void()> next;
    std::uint64_t order = 0;
    {
      std::lock_guard l(lanes_mu);
      auto& lane = lanes[key];
      if (!lane.waiting.empty()) {
        auto oldest = lane.waiting.begin();
        order = oldest->first;
        next = std::move(oldest->second);
        lane.waiting.erase(oldest);
        gauge(provider_waiting, key).Set(static_cast<double>(lane.waiting.size()));
      } else if (lane.in_flight > 0) {
        --lane.in_flight;
        gauge(provider_in_flight, key).Set(static_cast<double>(lane.in_flight));
      }
    }
    if (next) db.post(std::move(next), order);
  }
};

namespace {

// The call the job's message names. Every step after step_load has it: a job without one
// here is a bug.
const storage::StageCall& stage_call(const TranscribeStage::Job& j) {
  if (!j.sc) {
    log::error("transcribe job has no call", {{"trace_id", j.envelope.trace_id}});
    std::abort();
  }
  return *j.sc;
}

log::Context context_of(const TranscribeStage::Job& j) {
  if (j.sc) return j.sc->log_context(j.envelope.trace_id);
  return {.bid = j.envelope.bid, .call_id = {}, .trace_id = j.envelope.trace_id};
}

enum class On { kCpu, kDb };

// Runs `step` on a CPU or database thread with the job's log context, before the steps of
// every job started after it.
void post(const JobPtr& job, On on, std::function<void(const JobPtr&)> step) {
  auto& pool = on == On::kCpu ? job->shared->cpu : job->shared->db;
  const std::uint64_t order = job->order;
  pool.post(
      [job, step = std::move(step)] {
        log::ScopedContext ctx(context_of(*job));
        step(job);
      },
      order);
}

void release_slot(TranscribeStage::Job& j) {
  if (j.slot.empty()) return;
  auto key = std::move(j.slot);
  j.slot.clear();
  j.shared->release(key);
}

// Sarvam runs a long call as a batch job on its side, which outlives the worker that
// started it.
bool runs_provider_jobs(std::string_view provider) {
  return provider == "sarvam";
}

// A call's provider jobs: those a previous delivery started, read when the call is loaded,
// and each new one written to the store on a database thread (ahead of younger calls'
// steps), never on the provider's HTTP loop.
class CallJobLedger final : public stt::JobLedger {
 public:
  CallJobLedger(const JobPtr& job, std::map<std::string, std::string> known)
      : shared_(job->shared),
        bid_(job->envelope.bid),
        call_id_(job->call_id),
        order_(job->order),
        context_(context_of(*job)),
        provider_(job->config.stt_provider),
        known_(std::move(known)) {}

  [[nodiscard]] std::optional<std::string> recall(const std::string& key) const override {
    std::lock_guard l(mu_);
    auto it = known_.find(field(key));
    if (it == known_.end() || it->second.empty()) return std::nullopt;
    shared_->provider_jobs->Add({{"provider", provider_}, {"event", "resumed"}}).Increment();
    log::info("resuming the provider job a previous delivery started", {{"provider_job", it->second}});
    return it->second;
  }

  void remember(const std::string& key, const std::string& provider_job) override {
    {
      std::lock_guard l(mu_);
      known_[field(key)] = provider_job;
    }
    shared_->provider_jobs->Add({{"provider", provider_}, {"event", "started"}}).Increment();
    shared_->db.post(
        [shared = shared_, bid = bid_, call_id = call_id_, context = context_, f = field(key), provider_job] {
          log::ScopedContext ctx(context);
          if (auto saved = shared->d.provider_jobs->save(bid, call_id, f, provider_job); !saved) {
            log::warn("provider job not saved: a redelivery of this call would start another",
                      {{"provider_job", provider_job}, {"error", saved.error().to_string()}});
          }
        },
        order_);
  }

 private:
  [[nodiscard]] std::string field(const std::string& key) const { return provider_ + "|" + key; }

  std::shared_ptr<TranscribeStage::Shared> shared_;
  std::string bid_;
  storage::Id call_id_;
  std::uint64_t order_;
  log::Context context_;
  std::string provider_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> known_;
};

// Database thread: the call's provider jobs from earlier deliveries. Unreadable (Redis
// down): none, and the call starts its own.
std::shared_ptr<stt::JobLedger> load_ledger(const JobPtr& job) {
  auto& s = *job->shared;
  auto known = s.d.provider_jobs->load(job->envelope.bid, job->call_id);
  if (!known) {
    log::warn("provider jobs of earlier deliveries unreadable: starting afresh",
              {{"error", known.error().to_string()}});
  }
  return std::make_shared<CallJobLedger>(job, known ? std::move(*known) : std::map<std::string, std::string>{});
}

// Gives back the job's audio place (once, whichever step gets here first).
void release_audio(TranscribeStage::Job& j) {
  if (j.holds_audio.exchange(false)) j.shared->release(std::string(TranscribeStage::Shared::kAudioLane));
}

void finish(const JobPtr& job, queue::HandlerResult r) {
  auto& j = *job;
  if (j.finished) return;
  j.finished = true;
  release_slot(j);
  release_audio(j);
  j.audio.reset();
  j.bytes = {};
  auto done = std::move(j.done);
  done(std::move(r));
}

// call.status on the business's live stream; never fails the call.
void emit_status(const TranscribeStage::Job& j, storage::CallStatus status, storage::CallStatus previous,
                 const std::string& reason = {}) {
  auto* events = j.shared->opt.live_events;
  if (events == nullptr || !j.sc) return;
  nlohmann::json data{{"call_id", j.call_id},
                      {"status", std::string(storage::status_name(status))},
                      {"previous", std::string(storage::status_name(previous))}};
  if (!reason.empty()) data["reason"] = reason;
  (void)events->publish(j.sc->tenant().bid(), "call.status", std::move(data));
}

queue::OutgoingMessage analyze_message(const TranscribeStage::Job& j) {
  return queue::make_stage_message(j.shared->d.topology,
                                   queue::AnalyzeRequest::for_call(stage_call(j).tenant().bid(), j.call_id),
                                   j.envelope.trace_id);
}

// The call records why; the message goes to the dead-letter queue with the same reason.
void fail_call(const JobPtr& job, const Error& e) {
  auto& j = *job;
  auto& s = *j.shared;
  auto marked = stage_call(j).fail(e);
  if (!marked) {
    finish(job, std::unexpected(marked.error()));  // database down: retry the whole message later
    return;
  }
  s.failed->Add({{"stage", std::string(kStage)}, {"code", std::string(code_name(e.code))}}).Increment();
  if (*marked) emit_status(j, storage::CallStatus::kFailed, j.call.status, e.message);
  finish(job, queue::Outcome{queue::Fail{e.message, e.code}});
}

// A retryable failure retries the message (the call stays transcribing); any other fails it.
void fail_or_retry(const JobPtr& job, const Error& e) {
  if (message_fate(e.code) == MessageFate::kRetry) {
    finish(job, std::unexpected(e));
    return;
  }
  fail_call(job, e);
}

// From a CPU thread: failing the call writes to the database.
void fail_later(const JobPtr& job, Error e, bool may_retry = false) {
  post(job, On::kDb, [e = std::move(e), may_retry](const JobPtr& self) {
    if (may_retry) {
      fail_or_retry(self, e);
    } else {
      fail_call(self, e);
    }
  });
}

void step_decode(const JobPtr& job);
void step_transcribe(const JobPtr& job);
void step_measure(const JobPtr& job, Result<stt::Transcript> transcript);
void step_write(const JobPtr& job);

// Database thread: load the call, skip or claim it, read its config, start the download
// (after a provider slot is free for calls that go to a provider).
void step_load(const JobPtr& job) {
  auto& j = *job;
  auto& s = *j.shared;
  auto request = queue::TranscribeRequest::parse(j.body_text);
  if (!request) {
    finish(job, queue::outcome_of(request.error()));
    return;
  }
  auto sc = storage::StageCall::parse(
      {.stage = kStage, .bid = j.envelope.bid, .attempt = j.envelope.attempt, .received = j.t0}, request->call_id,
      {.calls = &s.d.calls, .events = &s.d.events, .clock = &s.d.clock});
  if (!sc) {
    finish(job, queue::outcome_of(sc.error()));
    return;
  }
  j.sc = std::move(*sc);
  j.call_id = j.sc->call_id();
  const auto& t = j.sc->tenant();
  log::ScopedContext ctx(context_of(j));

  auto call = j.sc->load();
  if (!call) {
    finish(job, queue::outcome_of(call.error()));
    return;
  }
  j.call = std::move(*call);
  switch (j.call.status) {
    case storage::CallStatus::kTranscribed:
      // Transcribed, but its analyze message may not have been confirmed before a crash.
      j.sc->record(storage::EventOutcome::kSkipped, "already transcribed");
      finish(job, queue::Outcome{queue::Done{{analyze_message(j)}}});
      return;
    case storage::CallStatus::kAnalyzing:
    case storage::CallStatus::kAnalyzed:
    case storage::CallStatus::kNotified:
    case storage::CallStatus::kFailed:
      j.sc->record(storage::EventOutcome::kSkipped, fmt::format("call is {}", storage::status_name(j.call.status)));
      finish(job, queue::Outcome{queue::Done{}});
      return;
    case storage::CallStatus::kPending: {
      auto moved = s.d.calls.advance(t, j.call_id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing);
      if (!moved) {
        finish(job, std::unexpected(moved.error()));
        return;
      }
      if (*moved) emit_status(j, storage::CallStatus::kTranscribing, storage::CallStatus::kPending);
      j.call.status = storage::CallStatus::kTranscribing;
      break;
    }
    case storage::CallStatus::kTranscribing:
      break;  // a redelivery after a crash mid-work: do it again
  }
  j.sc->record(storage::EventOutcome::kStarted);

  if (auto c = s.configs.get(t); c) {
    j.config = std::move(*c);
  } else if (c.error().code != ErrorCode::kNotFound) {
    finish(job, std::unexpected(c.error()));
    return;
  }

  // The call's own recording; the message's only when the call names none.
  std::string uri = j.call.audio_uri.empty() ? request->audio.uri : j.call.audio_uri;
  // Defence in depth: whatever the gateway or a sync accepted, a recording outside the
  // business's own prefix is never read for it (AudioStore::owned_by, the one rule).
  if (auto own = s.d.store.owned_by(uri, t.bid()); !own) {
    fail_call(job, Error(ErrorCode::kInvalidArgument, "recording refused: " + own.error().message));
    return;
  }
  j.file = s.d.store.local_file(uri);
  if (s.d.provider_jobs != nullptr && runs_provider_jobs(j.config.stt_provider)) j.ledger = load_ledger(job);
  auto fetch = [job, uri = std::move(uri)] {
    job->shared->d.store.read_async(uri, job->shared->d.limits.max_bytes, [job](Result<std::vector<std::uint8_t>> r) {
      // Off the HTTP loop: decoding on a CPU thread, or failing the call on a database one.
      auto bytes = std::make_shared<Result<std::vector<std::uint8_t>>>(std::move(r));
      if (!*bytes) {
        fail_later(job, bytes->error(), /*may_retry=*/true);
        return;
      }
      job->bytes = std::move(**bytes);
      post(job, On::kCpu, step_decode);
    });
  };
  // Read only with an audio place free: calls beyond audio_in_flight wait unread, oldest first.
  auto with_audio = [job, fetch = std::move(fetch)]() mutable {
    job->shared->acquire(std::string(TranscribeStage::Shared::kAudioLane), job->order, [job, fetch = std::move(fetch)] {
      job->holds_audio = true;
      fetch();
    });
  };
  if (is_remote(j.config.stt_provider)) {
    // Wait for a provider slot before holding any audio.
    j.slot = j.config.stt_provider;
    s.acquire(j.slot, j.order, std::move(with_audio));
  } else {
    with_audio();
  }
}

// CPU thread: decode, measure a stereo call from its channels, pick the transcriber.
void step_decode(const JobPtr& job) {
  auto& j = *job;
  auto& s = *j.shared;
  auto decoded = audio::decode(j.bytes, s.d.limits);
  if (!decoded) {
    fail_later(job, decoded.error());
    return;
  }
  j.audio = std::move(*decoded);
  const auto& a = *j.audio;
  j.duration_ms = a.duration_ms();
  s.audio_seconds->Increment(static_cast<double>(a.duration_ms()) / 1000.0);

  auto transcriber = s.d.transcribers.for_business(j.envelope.bid, j.config);
  if (!transcriber) {
    fail_later(job, transcriber.error());
    return;
  }
  j.transcriber = std::move(*transcriber);
  j.stereo = a.channels.size() >= 2;
  j.map = channel_map_from(j.config.channel_roles_json);
  if (j.stereo) {
    auto measured = analytics::measure_stereo(a, j.map);
    if (!measured) {
      fail_later(job, measured.error());
      return;
    }
    j.measured = std::move(*measured);
  }
  step_transcribe(job);
}

// CPU thread: the offline engine runs here; a provider gets the file and answers on the
// HTTP loop. Only what a mono call needs afterwards (its file, to measure by the transcript)
// is kept while the provider works.
void step_transcribe(const JobPtr& job) {
  auto& j = *job;
  const bool remote = is_remote(j.config.stt_provider);
  // A provider copies what it needs while transcribe_async runs. The job lets go of the
  // decoded audio (and a stereo call's file) before, so the provider's answer, handled on
  // another thread, never meets this one freeing them; they are freed when this returns. A
  // mono call keeps its file: it is decoded again to measure it by the transcript.
  if (!j.audio) {  // step_decode always sets it
    fail_later(job, Error(ErrorCode::kInternal, "transcribe: the call's audio is not decoded"));
    return;
  }
  audio::AudioBuffer held_audio;
  std::vector<std::uint8_t> held_bytes;
  if (remote) {
    held_audio = std::move(*j.audio);
    j.audio.reset();
    if (j.stereo) held_bytes = std::exchange(j.bytes, {});
  }
  const audio::AudioBuffer& audio = remote ? held_audio : *j.audio;
  const std::vector<std::uint8_t>& bytes = remote && j.stereo ? held_bytes : j.bytes;
  Transcriber::Input in;
  in.audio = &audio;
  in.stereo = j.stereo;
  in.agent_channel = j.map.agent_channel;
  in.customer_channel = j.map.customer_channel;
  in.language = j.call.language.empty() ? j.config.language : j.call.language;
  in.encoded = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  in.file = j.file;
  in.ledger = j.ledger;
  if (j.stereo) {
    in.agent_speech = &j.measured.agent_speech;
    in.customer_speech = &j.measured.customer_speech;
  }
  auto transcriber = j.transcriber;  // alive until this call returns, whatever the callback does
  transcriber->transcribe_async(in, [job](Result<stt::Transcript> t) {
    auto result = std::make_shared<Result<stt::Transcript>>(std::move(t));
    post(job, On::kCpu, [result](const JobPtr& self) { step_measure(self, std::move(*result)); });
  });
  // The provider has the recording: the next call may read its own.
  if (remote) release_audio(j);
}

// CPU thread: measure a mono call by its transcript (decoding its file again) and build the
// transcript and metrics rows.
void step_measure(const JobPtr& job, Result<stt::Transcript> transcript) {
  auto& j = *job;
  auto& s = *j.shared;
  release_slot(j);
  j.transcriber.reset();
  if (!transcript) {
    fail_later(job, transcript.error(), /*may_retry=*/true);
    return;
  }
  if (!j.stereo) {
    if (!j.audio) {
      auto decoded = audio::decode(j.bytes, s.d.limits);
      if (!decoded) {
        fail_later(job, decoded.error());
        return;
      }
      j.audio = std::move(*decoded);
    }
    j.measured = measure_by_transcript(*j.audio, transcript->segments);
  }
  j.audio.reset();
  j.bytes = {};
  release_audio(j);
  const auto& m = j.measured;

  // Transcript.
  set_language(*transcript, j.call.language.empty() ? j.config.language : j.call.language);
  auto& tr = j.transcript;
  tr.call_id = j.call_id;
  tr.provider = transcript->provider;
  tr.language = transcript->language;
  tr.language_source = transcript->language_source;
  if (!transcript->english.empty()) {
    tr.english_segments_json = english_segments_json(transcript->english);
    tr.english_source = transcript->english_source;
  }
  nlohmann::json segs = nlohmann::json::array();
  int agent_words = 0, customer_words = 0;
  for (const auto& seg : transcript->segments) {
    segs.push_back({{"speaker", seg.speaker},
                    {"start_ms", seg.start_ms},
                    {"end_ms", seg.end_ms},
                    {"text", seg.text},
                    {"confidence", seg.confidence}});
    // Word timings, when the provider gave them: the redacted recording's ranges come from
    // them (redaction.hpp).
    if (!seg.words.empty()) {
      auto& words = segs.back()["words"] = nlohmann::json::array();
      for (const auto& w : seg.words)
        words.push_back({{"text", w.text}, {"start_ms", w.start_ms}, {"end_ms", w.end_ms}});
    }
    if (!tr.full_text.empty()) tr.full_text += '\n';
    tr.full_text += seg.text;
    if (seg.speaker == "agent") agent_words += stt::count_words(seg.text);
    if (seg.speaker == "customer") customer_words += stt::count_words(seg.text);
  }
  tr.segments_json = segs.dump();
  j.segments = transcript->segments.size();

  // Metrics.
  const auto& c = m.conversation;
  const auto duration_ms = j.duration_ms;
  auto& cm = j.call_metrics;
  cm.call_id = j.call_id;
  cm.source = m.source == analytics::MetricSource::kAudio ? storage::MetricsSource::kAudio
                                                          : storage::MetricsSource::kTranscript;
  cm.duration_ms = duration_ms;
  cm.agent_talk_ms = c.agent.talk_ms;
  cm.customer_talk_ms = c.customer.talk_ms;
  const bool spoke = c.agent.talk_ms + c.customer.talk_ms > 0;
  cm.agent_talk_ratio = opt(c.agent_talk_ratio, spoke);
  cm.agent_talk_pct_of_call = opt(c.agent_talk_share_of_call, duration_ms > 0);
  cm.non_talk_ms = c.non_talk_ms;
  nlohmann::json sil = nlohmann::json::array();
  for (const auto& x : c.silences)
    sil.push_back({{"start_ms", x.start_ms}, {"end_ms", x.end_ms}, {"duration_ms", x.length()}});
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
  if (j.stereo) {
    series["agent"] = m.loudness_series[static_cast<std::size_t>(j.map.agent_channel)];
    series["customer"] = m.loudness_series[static_cast<std::size_t>(j.map.customer_channel)];
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
  cm.agent_wpm =
      opt(agent_words / (static_cast<double>(c.agent.talk_ms) / 60000.0), transcribed && c.agent.talk_ms > 0);
  cm.customer_wpm =
      opt(customer_words / (static_cast<double>(c.customer.talk_ms) / 60000.0), transcribed && c.customer.talk_ms > 0);
  post(job, On::kDb, step_write);
}

// Database thread: store transcript and metrics, move the call to transcribed and hand
// analyze.{bid} its message.
void step_write(const JobPtr& job) {
  auto& j = *job;
  auto& s = *j.shared;
  const auto& sc = stage_call(j);
  const auto& t = sc.tenant();
  // Transcript, metrics, the step to transcribed and the succeeded event: one transaction.
  auto moved =
      s.d.transcripts.put_transcribed(t, j.transcript, j.call_metrics, sc.event(storage::EventOutcome::kSucceeded));
  if (!moved) {
    finish(job, std::unexpected(moved.error()));
    return;
  }
  if (*moved) emit_status(j, storage::CallStatus::kTranscribed, storage::CallStatus::kTranscribing);
  const auto& provider = j.transcript.provider;
  const auto took = s.d.clock.steady_now() - j.t0;
  s.duration->Add({{"provider", provider}}, Metrics::latency_buckets())
      .Observe(std::chrono::duration<double>(took).count());
  s.transcribed->Add({{"provider", provider}}).Increment();
  s.call_audio_seconds->Add({{"bid", t.bid()}, {"provider", provider}})
      .Increment(static_cast<double>(std::max<std::int64_t>(0, j.duration_ms)) / 1000.0);
  log::info("call transcribed",
            {{"provider", provider},
             {"source", j.call_metrics.source == storage::MetricsSource::kAudio ? "audio" : "transcript"},
             {"segments", std::to_string(j.segments)},
             {"duration_ms", std::to_string(j.duration_ms)}});
  finish(job, queue::Outcome{queue::Done{{analyze_message(j)}}});
}

}  // namespace

TranscribeStage::TranscribeStage(TranscribeStageDeps deps, TranscribeStageOptions options)
    : shared_(std::make_shared<Shared>(std::move(deps), options)) {}

TranscribeStage::~TranscribeStage() {
  shutdown();
}

void TranscribeStage::shutdown() {
  shared_->cpu.shutdown();
  shared_->db.shutdown();
}

void TranscribeStage::start(const queue::IncomingMessage& msg, queue::StageCompletion done) {
  auto job = std::make_shared<Job>();
  job->shared = shared_;
  job->envelope = msg.envelope;
  job->body_text = msg.body;
  job->done = std::move(done);
  job->t0 = shared_->d.clock.steady_now();
  job->order = shared_->started.fetch_add(1, std::memory_order_relaxed);
  post(job, On::kDb, step_load);
}

queue::HandlerResult TranscribeStage::handle(const queue::IncomingMessage& msg) {
  auto promise = std::make_shared<std::promise<queue::HandlerResult>>();
  auto future = promise->get_future();
  start(msg, [promise](queue::HandlerResult r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace earshot::pipeline

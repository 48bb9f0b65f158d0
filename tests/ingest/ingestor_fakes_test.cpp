// The Ingestor against the in-memory storage fakes, an in-memory object store and a captured
// publisher: validation before anything is stored, idempotency on the external id, the
// business's default country code, and no call without its recording. Hermetic.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "earshot/audio/wav_writer.hpp"
#include "earshot/ingest/ingestor.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"

namespace earshot::ingest {
namespace {

using storage::CallStatus;
using storage::TenantId;

// ---- local stand-ins for repositories of another area ----

class StubNotes final : public storage::NoteRepository {
 public:
  Result<storage::Id> create(const TenantId&, storage::Id call_id, std::optional<storage::Id>,
                             std::string_view body) override {
    std::lock_guard lock(mu_);
    notes.emplace_back(call_id, std::string(body));
    return static_cast<storage::Id>(notes.size());
  }
  Result<std::vector<storage::CallNote>> list_for_call(const TenantId&, storage::Id) override {
    return std::vector<storage::CallNote>{};
  }
  Result<bool> remove(const TenantId&, storage::Id) override { return false; }
  std::mutex mu_;
  std::vector<std::pair<storage::Id, std::string>> notes;
};

class StubAgents final : public storage::HumanAgentRepository {
 public:
  Result<storage::Id> upsert(const TenantId&, const storage::HumanAgentInput& in) override {
    auto [it, added] = ids.emplace(in.external_id, static_cast<storage::Id>(ids.size()) + 100);
    names[in.external_id] = in.name;
    return it->second;
  }
  Result<storage::HumanAgent> get(const TenantId&, storage::Id) override {
    return make_error(ErrorCode::kNotFound, "none");
  }
  Result<storage::HumanAgent> find_by_external_id(const TenantId&, std::string_view id) override {
    auto it = ids.find(std::string(id));
    if (it == ids.end()) return make_error(ErrorCode::kNotFound, "none");
    storage::HumanAgent a;
    a.id = it->second;
    a.external_id = it->first;
    a.name = names[it->first];
    return a;
  }
  Result<std::vector<storage::HumanAgent>> list(const TenantId&) override { return std::vector<storage::HumanAgent>{}; }
  std::map<std::string, storage::Id> ids;
  std::map<std::string, std::string> names;
};

class StubConfigs final : public storage::PipelineConfigRepository {
 public:
  Status put(const TenantId&, const storage::PipelineConfig& c) override {
    config = c;
    return {};
  }
  Result<storage::PipelineConfig> get(const TenantId&) override {
    if (!config) return make_error(ErrorCode::kNotFound, "no config");
    return *config;
  }
  Result<std::int64_t> reseal_all() override { return 0; }
  std::optional<storage::PipelineConfig> config;
};

// Objects in memory; `refuse` makes put() fail like an object store outage.
class MemoryObjectStore final : public objectstore::ObjectStore {
 public:
  Result<std::string> put(std::string_view key, std::span<const std::uint8_t> bytes, std::string_view) override {
    std::lock_guard lock(mu_);
    ++puts;
    if (refuse) return make_error(ErrorCode::kUnavailable, "store down");
    const auto uri = "mem://" + std::string(key);
    objects[uri] = std::vector<std::uint8_t>(bytes.begin(), bytes.end());
    return uri;
  }
  Status remove(std::string_view uri) override {
    std::lock_guard lock(mu_);
    objects.erase(std::string(uri));
    return {};
  }
  Result<objectstore::ObjectInfo> stat(std::string_view) override { return make_error(ErrorCode::kNotFound, "x"); }
  Result<std::string> read_range(std::string_view, std::uint64_t, std::uint64_t) override {
    return make_error(ErrorCode::kNotFound, "x");
  }
  [[nodiscard]] bool owns(std::string_view uri) const override { return uri.starts_with("mem://"); }
  Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t) override {
    std::lock_guard lock(mu_);
    auto it = objects.find(std::string(uri));
    if (it == objects.end()) return make_error(ErrorCode::kNotFound, "x");
    return it->second;
  }
  std::mutex mu_;
  std::map<std::string, std::vector<std::uint8_t>> objects;
  int puts = 0;
  bool refuse = false;
};

std::vector<std::uint8_t> wav(double seconds) {
  const auto s = audio::encode_wav_pcm16(std::vector<float>(static_cast<std::size_t>(8000 * seconds), 0.1f), 8000);
  return {s.begin(), s.end()};
}

class IngestorWithFakes : public ::testing::Test {
 protected:
  IngestorWithFakes() {
    topology.resolve().value();
    calls.set_pushed_sinks(
        [this](const TenantId& tt, const storage::Transcript& tr) { return transcripts.put(tt, tr); },
        [this](const TenantId& tt, storage::Id id) { return transcripts.get(tt, id).has_value(); },
        [this](const TenantId& tt, storage::Id id, const std::string& body) -> Status {
          auto n = notes.create(tt, id, std::nullopt, body);
          if (!n) return std::unexpected(n.error());
          return {};
        });
  }

  TenantId t = *TenantId::make("acme");
  earshot::testing::FakeClock clock;
  earshot::testing::FakeCallRepository calls{&clock};
  earshot::testing::FakeMetricsRepository metrics{calls};
  earshot::testing::FakeProcessingEventRepository events{calls};
  earshot::testing::FakeTranscriptRepository transcripts{calls, metrics, events};
  StubNotes notes;
  StubAgents agents;
  StubConfigs configs;
  MemoryObjectStore store;
  queue::TopologySettings topology;
  std::vector<queue::OutgoingMessage> published;
  Status publish_result;
  std::vector<nlohmann::json> created;
  Ingestor ingestor{IngestorDeps{calls, transcripts, notes, agents, configs, store,
                                 [this](std::vector<queue::OutgoingMessage> m) {
                                   if (!publish_result) return publish_result;
                                   for (auto& x : m) published.push_back(std::move(x));
                                   return Status{};
                                 },
                                 topology, clock, nullptr,
                                 [this](const std::string&, const nlohmann::json& d) { created.push_back(d); }},
                    IngestSettings{}};

  CallMetadata meta(const std::string& external_id) {
    CallMetadata m;
    m.external_id = external_id;
    return m;
  }
};

TEST_F(IngestorWithFakes, TheSameExternalIdTwiceIsOneCallAndOneRecording) {
  const auto audio = wav(1.5);
  auto first = ingestor.ingest_audio(t, meta("ext-1"), audio);
  ASSERT_TRUE(first) << first.error().error.to_string();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->call.status, CallStatus::kPending);
  EXPECT_EQ(first->call.duration_ms, 1500);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].routing_key, "transcribe.acme");
  EXPECT_EQ(store.objects.size(), 1u);
  EXPECT_EQ(created.size(), 1u);

  auto second = ingestor.ingest_audio(t, meta("ext-1"), audio);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->call.id, first->call.id);
  ASSERT_TRUE(second->media.has_value()) << "the media of the first upload";
  EXPECT_EQ(second->media->duration_ms, 1500);
  EXPECT_EQ(store.puts, 1) << "nothing stored again";
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_EQ(created.size(), 1u);
  // Still pending (a retry after a lost publish): the call is published again.
  EXPECT_EQ(published.size(), 2u);

  // Once on its way, a repeat publishes nothing.
  ASSERT_TRUE(*calls.advance(t, first->call.id, CallStatus::kPending, CallStatus::kTranscribing));
  ASSERT_TRUE(ingestor.ingest_audio(t, meta("ext-1"), audio));
  EXPECT_EQ(published.size(), 2u);

  // Another business's call with the same external id is its own call.
  auto other = ingestor.ingest_audio(*TenantId::make("globex"), meta("ext-1"), audio);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->created);
  EXPECT_NE(other->call.id, first->call.id);
}

TEST_F(IngestorWithFakes, InvalidInputIsRefusedBeforeAnythingIsStored) {
  auto no_id = ingestor.ingest_audio(t, meta(""), wav(1));
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().http_status(), 400);

  auto empty = ingestor.ingest_audio(t, meta("ext-2"), {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().http_status(), 400);

  const std::string text = "plainly text, not audio at all, long enough to be looked at";
  auto not_audio = ingestor.ingest_audio(t, meta("ext-3"),
                                         std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  ASSERT_FALSE(not_audio);
  EXPECT_EQ(not_audio.error().http_status(), 415);

  auto bad_phone = meta("ext-4");
  bad_phone.customer_phone = "not a phone";
  auto phone = ingestor.ingest_audio(t, bad_phone, wav(1));
  ASSERT_FALSE(phone);
  EXPECT_EQ(phone.error().http_status(), 400);
  EXPECT_NE(phone.error().error.message.find("customer_phone"), std::string::npos);

  EXPECT_EQ(calls.size(), 0u);
  EXPECT_TRUE(store.objects.empty());
  EXPECT_TRUE(published.empty());
}

TEST_F(IngestorWithFakes, PhoneTakesTheBusinessCountryCodeAndAgentsAreCreatedOnFirstUse) {
  storage::PipelineConfig cfg;
  cfg.default_country_code = "44";
  ASSERT_TRUE(configs.put(t, cfg));
  auto m = meta("ext-5");
  m.customer_phone = "2071234567";
  m.agent_id = "agent-7";
  m.note = "VIP";
  auto r = ingestor.ingest_audio(t, m, wav(1));
  ASSERT_TRUE(r) << r.error().error.to_string();
  EXPECT_EQ(r->call.customer_phone, "+442071234567");
  ASSERT_TRUE(r->call.human_agent_id.has_value());
  EXPECT_EQ(*r->call.human_agent_id, agents.ids.at("agent-7"));
  EXPECT_EQ(agents.names.at("agent-7"), "agent-7") << "named by its id when no name is given";
  ASSERT_EQ(notes.notes.size(), 1u);
  EXPECT_EQ(notes.notes[0], (std::pair<storage::Id, std::string>{r->call.id, "VIP"}));
}

TEST_F(IngestorWithFakes, NoCallWithoutItsRecording) {
  store.refuse = true;
  auto r = ingestor.ingest_audio(t, meta("ext-6"), wav(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem, Problem::kStoreUnavailable);
  EXPECT_EQ(r.error().http_status(), 503);
  EXPECT_EQ(calls.size(), 0u);
  EXPECT_TRUE(published.empty());
}

TEST_F(IngestorWithFakes, ATranscriptCallIsWalkedToTranscribedOnceAndHandedToAnalyze) {
  std::vector<stt::Segment> segments(2);
  segments[0].speaker = "agent";
  segments[0].start_ms = 0;
  segments[0].end_ms = 1200;
  segments[0].text = "hello";
  segments[1].speaker = "customer";
  segments[1].start_ms = 1300;
  segments[1].end_ms = 2500;
  segments[1].text = "my order is late";
  auto first = ingestor.ingest_transcript(t, meta("txt-1"), segments, "upload");
  ASSERT_TRUE(first) << first.error().error.to_string();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->call.status, CallStatus::kTranscribed);
  EXPECT_EQ(first->call.duration_ms, 2500);
  EXPECT_EQ(transcripts.get(t, first->call.id)->full_text, "hello\nmy order is late");
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].routing_key, "analyze.acme");

  auto second = ingestor.ingest_transcript(t, meta("txt-1"), segments, "upload");
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->call.id, first->call.id);
  EXPECT_EQ(transcripts.get(t, first->call.id)->version, 1) << "the transcript is not written again";
  EXPECT_EQ(calls.size(), 1u);

  auto none = ingestor.ingest_transcript(t, meta("txt-2"), {}, "upload");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().http_status(), 400);
}

}  // namespace
}  // namespace earshot::ingest

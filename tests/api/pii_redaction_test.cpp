// PII redaction served everywhere (docs/security.md, "Personal data"): the real gateway in
// process over HTTP, the real MariaDB, and the real analyze stage in process writing the
// redacted transcript and the recording's redacted copy to the gateway's object store.
//
// A call whose customer speaks a card number (with word timings) and gives an e-mail address
// and a phone number is analysed; a second call is only transcribed (no redaction stored:
// the gateway redacts on the fly). For every route that serves transcript text — the call
// detail, the transcript exports (json, txt, srt, csv), the notes, the list's text filter,
// search — and for the recording, each caller kind is checked with the setting on and off:
// an analyst, a viewer and an API key with "read" get redacted text (and the redacted
// recording, or 409 while none exists) when the setting is on; a business admin, the
// platform admin and an API key with "read" and "pii:read" get it raw; with the setting off
// everyone gets it raw.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include "analyze_fixture.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/redaction.hpp"
#include "earshot/storage/repository_set.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;

// The digits that must never reach a caller without pii:read, in each spelling they have.
const std::vector<std::string> kSecrets = {"4111", "four one one one", "jane.miller@example.com", "415 555 0132",
                                           "555 0132"};

bool leaks(const std::string& body) {
  for (const auto& s : kSecrets) {
    if (body.find(s) != std::string::npos) return true;
  }
  return false;
}

json segments_with_card() {
  json words = json::array();
  const char* spoken[] = {"four", "one", "one", "one", "four", "one", "one", "one"};
  for (int i = 0; i < 8; ++i) {
    words.push_back({{"text", spoken[i]}, {"start_ms", 2'000 + i * 250}, {"end_ms", 2'000 + i * 250 + 200}});
  }
  return json::array(
      {{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 1'500}, {"text", "Thank you for calling, what is the card?"}},
       {{"speaker", "customer"},
        {"start_ms", 1'800},
        {"end_ms", 4'200},
        {"text", "four one one one four one one one"},
        {"words", words}},
       {{"speaker", "customer"},
        {"start_ms", 4'500},
        {"end_ms", 7'500},
        {"text", "my email is jane.miller@example.com and my phone is 415 555 0132 for the refund"}}});
}

std::string full_text_of(const json& segs) {
  std::string out;
  for (const auto& s : segs) {
    if (!out.empty()) out += '\n';
    out += s["text"].get<std::string>();
  }
  return out;
}

class PiiRedaction : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& gw = gateway();
    bid = gw.new_business("pii");
    admin = gw.login("admin@" + bid + ".test", Gateway::kPassword);
    analyst = gw.user_token(bid, "analyst");
    viewer = gw.user_token(bid, "viewer");
    read_key = api_key({"read"});
    pii_key = api_key({"read", "pii:read"});
    analysed = call("card-call", true);
    transcribed = call("pending-call", false);
  }

  std::string api_key(const json& scopes) {
    auto r = gateway().request("POST", "/api/v1/admin/businesses/" + bid + "/api-keys", admin,
                               {{"name", "k"}, {"scopes", scopes}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json.value("secret", "");
  }

  // A call with a 8 s recording in the gateway's store and the transcript above; analysed by
  // the real analyze stage (redaction stored, redacted copy written) or left transcribed.
  storage::Id call(const std::string& external, bool analyse) {
    auto& gw = gateway();
    auto& db = StorageEnvironment::db();
    storage::MySqlRepositories repos(db, *gw.keys);
    auto& r = repos.repos();
    const auto t = tenant(bid);
    audio::AudioBuffer rec;
    rec.sample_rate = 8000;
    rec.channels.emplace_back(8000 * 8);
    for (std::size_t i = 0; i < rec.channels[0].size(); ++i) {
      rec.channels[0][i] =
          0.3F * static_cast<float>(std::sin(2.0 * std::numbers::pi * 300.0 * static_cast<double>(i) / 8000.0));
    }
    const std::string wav = audio::encode_wav_pcm16(rec);
    objectstore::LocalObjectStore store(gw.objects.string());
    auto uri = store.write(bid + "/ingest/" + external + ".wav",
                           std::span(reinterpret_cast<const std::uint8_t*>(wav.data()), wav.size()));
    EXPECT_TRUE(uri) << uri.error().to_string();
    raw_wav_size = wav.size();
    storage::CallInput in;
    in.external_id = external;
    in.audio_uri = *uri;
    in.duration_ms = 8'000;
    in.started_at = storage::Timestamp(std::chrono::milliseconds(1'790'000'000'000LL));
    auto up = r.calls.upsert(t, in);
    EXPECT_TRUE(up);
    const auto id = up->id;
    EXPECT_TRUE(*r.calls.advance(t, id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
    storage::Transcript tr;
    tr.call_id = id;
    tr.segments_json = segments_with_card().dump();
    tr.full_text = full_text_of(segments_with_card());
    tr.provider = "test";
    tr.language = "en";
    storage::CallMetrics m;
    m.call_id = id;
    m.duration_ms = 8'000;
    storage::ProcessingEvent e;
    e.call_id = id;
    e.stage = "transcribe";
    e.outcome = storage::EventOutcome::kSucceeded;
    EXPECT_TRUE(r.transcripts.put_transcribed(t, tr, m, e));
    // A note quoting the number, written by the admin.
    EXPECT_EQ(gw.request("POST", "/api/v1/calls/" + std::to_string(id) + "/notes", admin,
                         {{"body", "customer read 4111 1111 1111 1111 twice"}})
                  .status,
              201);
    if (!analyse) return id;
    queue::TopologySettings topology;
    EXPECT_TRUE(topology.resolve());
    Metrics metrics("pii-test", "0", "0");
    pipeline::AnalyzeStage stage(pipeline::testing::analyze_deps(r, metrics, SystemClock::instance(), topology));
    stage.enable_redacted_audio(store);
    auto out = stage.handle(pipeline::testing::analyze_message(t, id));
    EXPECT_TRUE(out && std::holds_alternative<queue::Done>(*out));
    return id;
  }

  void set_redaction(bool on) {
    auto r =
        gateway().request("PUT", "/api/v1/admin/businesses/" + bid + "/pipeline-config", admin, {{"redact_pii", on}});
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json["redact_pii"], on);
  }

  HttpReply as(const std::string& who, const std::string& method, const std::string& path, const json& body = nullptr) {
    auto& gw = gateway();
    if (who == "platform") return gw.request(method, path, gw.platform_token, body, {{"X-Earshot-Business", bid}});
    return gw.request(method, path, token_of(who), body);
  }

  std::string token_of(const std::string& who) const {
    if (who == "admin") return admin;
    if (who == "analyst") return analyst;
    if (who == "viewer") return viewer;
    if (who == "read_key") return read_key;
    return pii_key;
  }

  // Every text route of call `id` as `who`: the bodies, each checked for status 200.
  std::vector<std::pair<std::string, std::string>> text_routes(const std::string& who, storage::Id id) {
    const std::string base = "/api/v1/calls/" + std::to_string(id);
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& path :
         {base, base + "/transcript", base + "/transcript?format=json", base + "/transcript?format=txt",
          base + "/transcript?format=srt", base + "/transcript?format=csv", base + "/notes"}) {
      auto r = as(who, "GET", path);
      EXPECT_EQ(r.status, 200) << who << " " << path << ": " << r.body;
      out.emplace_back(path, r.body);
    }
    return out;
  }

  std::string bid, admin, analyst, viewer, read_key, pii_key;
  storage::Id analysed = 0, transcribed = 0;
  std::size_t raw_wav_size = 0;
};

const std::vector<std::string> kMayReadPii = {"admin", "platform", "pii_key"};
const std::vector<std::string> kMayNot = {"analyst", "viewer", "read_key"};

TEST_F(PiiRedaction, CallersWithoutPiiReadGetRedactedTextOnEveryRouteAndTheOthersRawText) {
  for (storage::Id id : {analysed, transcribed}) {
    SCOPED_TRACE(id == analysed ? "analysed call (stored redaction)" : "transcribed call (redacted on the fly)");
    for (const auto& who : kMayNot) {
      for (const auto& [path, body] : text_routes(who, id)) {
        EXPECT_FALSE(leaks(body)) << who << " " << path << ": " << body;
      }
      // The placeholders are there instead.
      const auto txt = as(who, "GET", "/api/v1/calls/" + std::to_string(id) + "/transcript?format=txt").body;
      EXPECT_NE(txt.find("[DIGITS]"), std::string::npos) << txt;
      EXPECT_NE(txt.find("[EMAIL]"), std::string::npos) << txt;
      EXPECT_NE(txt.find("[PHONE]"), std::string::npos) << txt;
      const auto j = as(who, "GET", "/api/v1/calls/" + std::to_string(id) + "/transcript").json;
      EXPECT_EQ(j["text"], full_text_of(j["segments"]));
      EXPECT_FALSE(j["segments"][1].contains("words"));
    }
    for (const auto& who : kMayReadPii) {
      const auto txt = as(who, "GET", "/api/v1/calls/" + std::to_string(id) + "/transcript?format=txt").body;
      EXPECT_NE(txt.find("four one one one"), std::string::npos) << who << ": " << txt;
      EXPECT_NE(txt.find("jane.miller@example.com"), std::string::npos) << who;
      const auto csv = as(who, "GET", "/api/v1/calls/" + std::to_string(id) + "/transcript?format=csv").body;
      EXPECT_NE(csv.find("415 555 0132"), std::string::npos) << who << ": " << csv;
      const auto detail = as(who, "GET", "/api/v1/calls/" + std::to_string(id));
      EXPECT_EQ(detail.json["transcript"]["segments"], segments_with_card()) << who;
      const auto notes = as(who, "GET", "/api/v1/calls/" + std::to_string(id) + "/notes");
      EXPECT_EQ(notes.json["items"][0]["body"], "customer read 4111 1111 1111 1111 twice");
    }
  }
  // The setting off: everyone reads raw text.
  set_redaction(false);
  for (const auto& who : kMayNot) {
    const auto txt = as(who, "GET", "/api/v1/calls/" + std::to_string(analysed) + "/transcript?format=txt").body;
    EXPECT_NE(txt.find("four one one one"), std::string::npos) << who << ": " << txt;
    const auto detail = as(who, "GET", "/api/v1/calls/" + std::to_string(analysed));
    EXPECT_EQ(detail.json["transcript"]["segments"], segments_with_card()) << who;
  }
  set_redaction(true);
  EXPECT_FALSE(leaks(as("viewer", "GET", "/api/v1/calls/" + std::to_string(analysed)).body));
}

TEST_F(PiiRedaction, TheSummaryAndEveryAnalysisOfTheCallAreRedactedForThem) {
  const auto detail = as("viewer", "GET", "/api/v1/calls/" + std::to_string(analysed));
  ASSERT_EQ(detail.status, 200);
  ASSERT_FALSE(detail.json["analyses"].empty());
  for (const auto& a : detail.json["analyses"]) EXPECT_FALSE(leaks(a["output"].dump())) << a.dump();
  // The stored summary itself is redacted (it leaves in webhooks and CRM notes), for everyone.
  const auto raw = as("admin", "GET", "/api/v1/calls/" + std::to_string(analysed));
  for (const auto& a : raw.json["analyses"]) {
    if (a["agent"] == "builtin.summary") {
      EXPECT_FALSE(leaks(a["output"].dump())) << a.dump();
    }
  }
}

TEST_F(PiiRedaction, TheTextFilterOfTheListMatchesTheRedactedTranscriptForThem) {
  // "jane.miller@example.com" is indexed as words: "miller" matches the raw text only.
  const auto id = std::to_string(analysed);
  for (const auto& who : kMayReadPii) {
    auto r = as(who, "GET", "/api/v1/calls?q=miller");
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json["items"].size(), 2u) << who << ": " << r.body;
  }
  for (const auto& who : kMayNot) {
    auto r = as(who, "GET", "/api/v1/calls?q=miller");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.json["items"].empty()) << who << ": " << r.body;
    // What the redacted text says still matches (the analysed call only: the other has no
    // stored redaction yet).
    auto refund = as(who, "GET", "/api/v1/calls?q=refund");
    ASSERT_EQ(refund.json["items"].size(), 1u) << who << ": " << refund.body;
    EXPECT_EQ(refund.json["items"][0]["id"], analysed);
  }
  // The cached page of a raw-text caller never answers a redacted one (and the other way).
  EXPECT_EQ(as("admin", "GET", "/api/v1/calls?q=miller").json["items"].size(), 2u);
  EXPECT_TRUE(as("viewer", "GET", "/api/v1/calls?q=miller").json["items"].empty());
  set_redaction(false);
  EXPECT_EQ(as("viewer", "GET", "/api/v1/calls?q=miller").json["items"].size(), 2u);
}

TEST_F(PiiRedaction, TheRecordingIsTheRedactedCopyForThemAnd409WhileNoneExists) {
  const auto path = [](storage::Id id) { return "/api/v1/calls/" + std::to_string(id) + "/audio"; };
  for (const auto& who : kMayReadPii) {
    auto r = as(who, "GET", path(analysed));
    ASSERT_EQ(r.status, 200) << who << ": " << r.body;
    EXPECT_EQ(r.body.size(), raw_wav_size);
    auto wav = audio::decode(std::span(reinterpret_cast<const std::uint8_t*>(r.body.data()), r.body.size()));
    ASSERT_TRUE(wav);
    // The raw recording: the 300 Hz tone at 0.3 where the card was spoken.
    float peak = 0;
    for (std::size_t i = 8000 * 2; i < 8000 * 3; ++i) peak = std::max(peak, std::abs(wav->channels[0][i]));
    EXPECT_NEAR(peak, 0.3F, 0.01F) << who;
  }
  for (const auto& who : kMayNot) {
    auto r = as(who, "GET", path(analysed));
    ASSERT_EQ(r.status, 200) << who << ": " << r.body;
    auto wav = audio::decode(std::span(reinterpret_cast<const std::uint8_t*>(r.body.data()), r.body.size()));
    ASSERT_TRUE(wav) << who;
    // Inside the card's range: the 1 kHz mask tone (at most 0.1); outside: the recording.
    float inside = 0;
    for (std::size_t i = 8000 * 2; i < 8000 * 3; ++i) inside = std::max(inside, std::abs(wav->channels[0][i]));
    EXPECT_NEAR(inside, pipeline::kMaskToneAmplitude, 0.01F) << who;
    float outside = 0;
    for (std::size_t i = 8000 * 6; i < 8000 * 7; ++i) outside = std::max(outside, std::abs(wav->channels[0][i]));
    EXPECT_NEAR(outside, 0.3F, 0.01F) << who;
    // A byte range of it is served too.
    auto part = gateway().request("GET", path(analysed), token_of(who), nullptr, {{"Range", "bytes=0-99"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.body, r.body.substr(0, 100));
    // The transcribed call has no copy yet: 409 with the reason, never the raw recording.
    auto none = as(who, "GET", path(transcribed));
    EXPECT_EQ(none.status, 409) << who << ": " << none.body;
    EXPECT_NE(none.body.find("redacted copy"), std::string::npos) << none.body;
  }
  // Signed links: an admin's link plays the raw recording, a viewer's the redacted copy.
  auto admin_link = as("admin", "POST", path(analysed) + "-url");
  ASSERT_EQ(admin_link.status, 200);
  EXPECT_NE(admin_link.json["url"].get<std::string>().find("&pii=1"), std::string::npos);
  auto viewer_link = as("viewer", "POST", path(analysed) + "-url");
  ASSERT_EQ(viewer_link.status, 200);
  const std::string vurl = viewer_link.json["url"];
  EXPECT_EQ(vurl.find("pii="), std::string::npos);
  const auto raw = gateway().request("GET", admin_link.json["url"]).body;
  const auto red = gateway().request("GET", vurl).body;
  EXPECT_EQ(raw, as("admin", "GET", path(analysed)).body);
  EXPECT_EQ(red, as("viewer", "GET", path(analysed)).body);
  EXPECT_NE(raw, red);
  // Adding pii=1 to a viewer's link breaks its signature; another value is no link at all.
  EXPECT_EQ(gateway().request("GET", vurl + "&pii=1").status, 401);
  EXPECT_EQ(gateway().request("GET", vurl + "&pii=true").status, 401);
  auto none_link = as("viewer", "POST", path(transcribed) + "-url");
  EXPECT_EQ(gateway().request("GET", none_link.json["url"]).status, 409);
  // The setting off: the raw recording for everyone.
  set_redaction(false);
  EXPECT_EQ(as("viewer", "GET", path(analysed)).body, raw);
  EXPECT_EQ(as("read_key", "GET", path(transcribed)).status, 200);
}

TEST_F(PiiRedaction, PiiReadIsAScopeAdminsGiveKeysButNeverWithEmbed) {
  const std::string keys = "/api/v1/admin/businesses/" + bid + "/api-keys";
  auto embed = gateway().request("POST", keys, admin, {{"name", "e"}, {"scopes", {"embed", "pii:read"}}});
  EXPECT_EQ(embed.status, 400);
  EXPECT_NE(embed.body.find("pii:read"), std::string::npos) << embed.body;
  auto bad = gateway().request("POST", keys, admin, {{"name", "e"}, {"scopes", {"pii:write"}}});
  EXPECT_EQ(bad.status, 400);
  // An analyst cannot make one (admins only).
  EXPECT_EQ(gateway().request("POST", keys, analyst, {{"name", "e"}, {"scopes", {"read", "pii:read"}}}).status, 403);
  // The setting is validated.
  auto wrong =
      gateway().request("PUT", "/api/v1/admin/businesses/" + bid + "/pipeline-config", admin, {{"redact_pii", "no"}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_NE(wrong.body.find("redact_pii"), std::string::npos);
  auto got = gateway().request("GET", "/api/v1/admin/businesses/" + bid + "/pipeline-config", admin);
  EXPECT_EQ(got.json["redact_pii"], true);  // the default
}

TEST_F(PiiRedaction, DeletingTheCallDeletesItsRedactedCopy) {
  objectstore::LocalObjectStore store(gateway().objects.string());
  const auto copy = "store://" + bid + "/redacted/" + std::to_string(analysed) + ".wav";
  ASSERT_TRUE(store.stat(copy)) << copy;
  EXPECT_EQ(as("admin", "DELETE", "/api/v1/calls/" + std::to_string(analysed)).status, 204);
  EXPECT_EQ(store.stat(copy).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace earshot::testing

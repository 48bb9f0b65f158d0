// Push ingestion through the real gateway stack (HTTP listener, dispatcher, API keys) against
// the real MariaDB, RabbitMQ and Redis: uploads, transcripts and Twilio callbacks.
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "earshot/audio/wav_writer.hpp"
#include "earshot/ingest/twilio.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "failing_writes.hpp"
#include "fakes/twilio/fake_twilio.hpp"
#include "gateway_fixture.hpp"
#include "process.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using json = nlohmann::json;

constexpr std::int64_t kMaxAudio = 1 << 20;  // 1 MiB: a small limit so "too large" is cheap

Gateway& ingest_gateway() {
  static Gateway* gw = [] {
    ingest::IngestSettings s;
    s.max_audio_bytes = kMaxAudio;
    s.max_duration = std::chrono::minutes(10);
    s.fetch_policy.allow_loopback = true;  // the fake Twilio listens on 127.0.0.1
    s.fetch_timeout = std::chrono::seconds(10);
    return new Gateway({true, 1'000'000, 1'000'000, std::chrono::seconds(60)}, 8 << 20, s);
  }();
  return *gw;
}

// A stereo call: a tone on each channel in turn, with silence between.
std::string stereo_wav(int seconds = 3, int rate = 16000) {
  audio::AudioBuffer b;
  b.sample_rate = rate;
  b.channels.assign(2, std::vector<float>(static_cast<std::size_t>(seconds * rate), 0.0f));
  for (std::size_t i = 0; i < b.channels[0].size(); ++i) {
    const double t = static_cast<double>(i) / rate;
    const bool agent = std::fmod(t, 1.0) < 0.4;
    const bool customer = std::fmod(t, 1.0) > 0.5 && std::fmod(t, 1.0) < 0.9;
    if (agent) b.channels[0][i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * t));
    if (customer) b.channels[1][i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 330 * t));
  }
  return audio::encode_wav_pcm16(b);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string mp3_of(const std::string& wav) {
  const std::string base = std::filesystem::temp_directory_path() / ("earshot-ingest-" + unique_suffix());
  { std::ofstream(base + ".wav", std::ios::binary) << wav; }
  auto r = run_command("lame --quiet -b 32 " + base + ".wav " + base + ".mp3");
  EXPECT_EQ(r.exit_code, 0) << "lame is needed (scripts/install-deps.sh)";
  std::string out = read_file(base + ".mp3");
  std::filesystem::remove(base + ".wav");
  std::filesystem::remove(base + ".mp3");
  return out;
}

std::string api_key(Gateway& gw, const std::string& bid, const std::vector<std::string>& scopes) {
  const auto admin = gw.user_token(bid, "admin");
  auto r = gw.request("POST", "/api/v1/admin/businesses/" + bid + "/api-keys", admin,
                      {{"name", "ingest " + unique_suffix()}, {"scopes", scopes}});
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json.value("secret", "");
}

HttpReply upload(Gateway& gw, const std::string& key, const httplib::MultipartFormDataItems& items) {
  httplib::Client cli("127.0.0.1", gw.port);
  cli.set_read_timeout(30, 0);
  httplib::Headers headers;
  if (!key.empty()) headers.emplace("X-Api-Key", key);
  auto res = cli.Post("/api/v1/ingest/calls", headers, items);
  HttpReply out;
  if (!res) return out;
  out.status = res->status;
  out.body = res->body;
  out.headers = res->headers;
  out.json = json::parse(res->body, nullptr, false);
  return out;
}

httplib::MultipartFormDataItems form(const std::string& external_id, const std::string& audio,
                                     const std::string& filename = "call.wav", const std::string& type = "audio/wav") {
  return {{"audio", audio, filename, type},
          {"external_id", external_id, "", ""},
          {"agent_id", "agent-7", "", ""},
          {"agent_name", "Sarah Lee", "", ""},
          {"customer_phone", "(555) 010-2030", "", ""},
          {"customer_name", "Dana Smith", "", ""},
          {"language", "en", "", ""},
          {"started_at", "2026-11-20T09:40:00Z", "", ""},
          {"direction", "inbound", "", ""},
          {"city", "Austin", "", ""},
          {"issue_category", "billing", "", ""},
          {"call_context", "double charge on the last invoice", "", ""},
          {"note", "uploaded by the test", "", ""}};
}

// The call ids of the messages waiting in `queue` (taken off it).
std::vector<std::string> drain_call_ids(Gateway& gw, const std::string& queue) {
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto m = gw.topology_admin->get(queue);
    if (!m || !*m) break;
    auto body = json::parse((*m)->body, nullptr, false);
    ids.push_back(body.value("call_id", ""));
  }
  return ids;
}

TEST(IngestUpload, WavCreatesThePendingCallStoresItAndQueuesTranscribe) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  // pii:read: the raw recording is served back (a key without it hears the redacted copy).
  const auto key = api_key(gw, bid, {"ingest", "read", "pii:read"});
  const auto wav = stereo_wav(3);
  auto r = upload(gw, key, form("ext-wav-1", wav));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["created"], true);
  EXPECT_EQ(r.json["status"], "pending");
  EXPECT_EQ(r.json["media"]["format"], "wav");
  EXPECT_EQ(r.json["media"]["channels"], 2);
  EXPECT_EQ(r.json["media"]["sample_rate"], 16000);
  EXPECT_EQ(r.json["media"]["duration_ms"], 3000);
  EXPECT_EQ(r.json["media"]["bytes"], wav.size());
  const auto id = r.json["id"].get<std::int64_t>();

  auto detail = gw.request("GET", "/api/v1/calls/" + std::to_string(id), key);
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_EQ(detail.json["external_id"], "ext-wav-1");
  EXPECT_EQ(detail.json["customer_phone"], "+15550102030");
  EXPECT_EQ(detail.json["customer_name"], "Dana Smith");
  EXPECT_EQ(detail.json["direction"], "inbound");
  EXPECT_EQ(detail.json["city"], "Austin");
  EXPECT_EQ(detail.json["issue_category"], "billing");
  EXPECT_EQ(detail.json["call_context"], "double charge on the last invoice");
  EXPECT_EQ(detail.json["started_at"], "2026-11-20T09:40:00.000Z");
  EXPECT_EQ(detail.json["channels"], 2);
  EXPECT_EQ(detail.json["metadata"]["source"], "upload");
  EXPECT_FALSE(detail.json["human_agent_id"].is_null());
  auto notes = gw.request("GET", "/api/v1/calls/" + std::to_string(id) + "/notes", key);
  ASSERT_EQ(notes.status, 200) << notes.body;
  ASSERT_EQ(notes.json["items"].size(), 1u);
  EXPECT_EQ(notes.json["items"][0]["body"], "uploaded by the test");

  // The stored recording is the uploaded one, served back by the audio route.
  auto audio = gw.raw_request("GET", "/api/v1/calls/" + std::to_string(id) + "/audio", "", {{"X-Api-Key", key}});
  ASSERT_EQ(audio.status, 200);
  EXPECT_EQ(audio.body, wav);

  const auto ids = drain_call_ids(gw, queue::work_queue(queue::Stage::kTranscribe, bid));
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], std::to_string(id));
}

TEST(IngestUpload, Mp3IsRecognisedByItsContentWhateverItsName) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest"});
  auto r = upload(gw, key, form("ext-mp3-1", mp3_of(stereo_wav(2)), "call.wav", "audio/wav"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["media"]["format"], "mp3");
  EXPECT_EQ(r.json["media"]["channels"], 2);
  EXPECT_NEAR(r.json["media"]["duration_ms"].get<double>(), 2000, 150);
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kTranscribe, bid)).size(), 1u);
}

TEST(IngestUpload, SameExternalIdReturnsTheExistingCall) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest", "read"});
  auto first = upload(gw, key, form("ext-dup", stereo_wav(2)));
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = upload(gw, key, form("ext-dup", stereo_wav(3)));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json["created"], false);
  EXPECT_EQ(again.json["id"], first.json["id"]);
  EXPECT_EQ(again.json["media"]["duration_ms"], 2000);  // the first recording stands
  auto list = gw.request("GET", "/api/v1/calls", key);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json["items"].size(), 1u);
}

TEST(IngestUpload, RefusalsSayWhy) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest", "read"});

  auto text = upload(gw, key, form("ext-text", "this is not a recording, whatever its name says", "call.wav"));
  EXPECT_EQ(text.status, 415) << text.body;
  EXPECT_EQ(text.json["error"]["code"], "unsupported_media_type");

  auto empty = upload(gw, key, form("ext-empty", ""));
  EXPECT_EQ(empty.status, 400) << empty.body;
  EXPECT_NE(empty.json["error"]["message"].get<std::string>().find("empty"), std::string::npos);

  auto big = upload(gw, key, form("ext-big", stereo_wav(20)));  // ~1.3 MB > 1 MiB
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(big.json["error"]["code"], "payload_too_large");
  EXPECT_NE(big.json["error"]["message"].get<std::string>().find("limit is 1048576"), std::string::npos);

  auto wav = stereo_wav(2);
  auto truncated = upload(gw, key, form("ext-cut", wav.substr(0, 30)));
  EXPECT_EQ(truncated.status, 422) << truncated.body;
  EXPECT_EQ(truncated.json["error"]["code"], "unprocessable_content");

  auto no_id = form("", wav);
  no_id.erase(no_id.begin() + 1);
  auto missing = upload(gw, key, no_id);
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_NE(missing.json["error"]["message"].get<std::string>().find("external_id"), std::string::npos);

  auto no_audio = form("ext-noaudio", wav);
  no_audio.erase(no_audio.begin());
  EXPECT_EQ(upload(gw, key, no_audio).status, 400);

  auto bad_dir = form("ext-dir", wav);
  bad_dir.push_back({"direction", "sideways", "", ""});
  EXPECT_EQ(upload(gw, key, bad_dir).status, 400);
  auto unknown = form("ext-unknown", wav);
  unknown.push_back({"colour", "blue", "", ""});
  auto unk = upload(gw, key, unknown);
  EXPECT_EQ(unk.status, 400);
  EXPECT_NE(unk.body.find("colour"), std::string::npos);

  auto json_body = gw.request("POST", "/api/v1/ingest/calls", key, {{"external_id", "x"}});
  EXPECT_EQ(json_body.status, 415) << json_body.body;

  // Nothing refused was stored or queued.
  auto list = gw.request("GET", "/api/v1/calls", key);
  EXPECT_EQ(list.json["items"].size(), 0u) << list.body;
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kTranscribe, bid)).size(), 0u);
}

TEST(IngestUpload, KeysDecideTheBusiness) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto other = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest", "read"});
  const auto other_key = api_key(gw, other, {"ingest", "read"});
  const auto read_only = api_key(gw, bid, {"read"});
  const auto wav = stereo_wav(1);

  auto none = upload(gw, "", form("ext-k", wav));
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(upload(gw, "esk_notakey_" + std::string(43, 'A'), form("ext-k", wav)).status, 401);
  EXPECT_EQ(upload(gw, read_only, form("ext-k", wav)).status, 403);

  // Another business's key uploads into that business, never into this one.
  auto theirs = upload(gw, other_key, form("ext-k", wav));
  ASSERT_EQ(theirs.status, 201) << theirs.body;
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", key).json["items"].size(), 0u);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls/" + std::to_string(theirs.json["id"].get<std::int64_t>()), key).status,
            404);
  // The same external id in this business is a different call.
  auto ours = upload(gw, key, form("ext-k", wav));
  ASSERT_EQ(ours.status, 201) << ours.body;
  EXPECT_NE(ours.json["id"], theirs.json["id"]);
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kTranscribe, other)).size(), 1u);
}

TEST(IngestTranscript, StoresTheTextAndQueuesAnalyze) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest", "read"});
  const json body{{"external_id", "txt-1"},
                  {"agent_id", "agent-3"},
                  {"language", "en"},
                  {"city", "Pune"},
                  {"segments",
                   {{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 2500}, {"text", "Thank you for calling"}},
                    {{"speaker", "customer"}, {"start_ms", 2600}, {"end_ms", 6000}, {"text", "I was charged twice"}}}}};
  auto r = gw.request("POST", "/api/v1/ingest/transcripts", key, body);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["status"], "transcribed");
  EXPECT_EQ(r.json["duration_ms"], 6000);
  const auto id = r.json["id"].get<std::int64_t>();
  auto tr = gw.request("GET", "/api/v1/calls/" + std::to_string(id) + "/transcript?format=txt", key);
  ASSERT_EQ(tr.status, 200) << tr.body;
  EXPECT_NE(tr.body.find("I was charged twice"), std::string::npos);
  const auto ids = drain_call_ids(gw, queue::work_queue(queue::Stage::kAnalyze, bid));
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], std::to_string(id));
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kTranscribe, bid)).size(), 0u);

  auto again = gw.request("POST", "/api/v1/ingest/transcripts", key, body);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json["id"], id);

  json bad = body;
  bad["external_id"] = "txt-2";
  bad["segments"][0]["speaker"] = "robot";
  auto refused = gw.request("POST", "/api/v1/ingest/transcripts", key, bad);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("segments[0].speaker"), std::string::npos);
  bad["segments"] = json::array();
  EXPECT_EQ(gw.request("POST", "/api/v1/ingest/transcripts", key, bad).status, 400);
}

json transcript_body(const std::string& external_id) {
  return json{{"external_id", external_id},
              {"language", "en"},
              {"note", "pushed by the test"},
              {"segments",
               {{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 2500}, {"text", "Thank you for calling"}},
                {{"speaker", "customer"}, {"start_ms", 2600}, {"end_ms", 6000}, {"text", "I was charged twice"}}}}};
}

TEST(IngestTranscript, AFailedWriteLeavesNoCallAndTheRetryCreatesItOnce) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest", "read"});
  auto& db = StorageEnvironment::db();
  const auto t = *storage::TenantId::make(bid);
  storage::MySqlCallRepository calls(db);
  {
    // The transcript is written after the call and its note, in their transaction.
    FailingWrites refuse(db, "transcripts", bid);
    ASSERT_EQ(refuse.error(), "");
    auto failed = gw.request("POST", "/api/v1/ingest/transcripts", key, transcript_body("atom-1"));
    EXPECT_EQ(failed.status, 500) << failed.body;
    EXPECT_EQ(calls.find_by_external_id(t, "atom-1").error().code, ErrorCode::kNotFound)
        << "no call left pending without its transcript";
  }
  auto created = gw.request("POST", "/api/v1/ingest/transcripts", key, transcript_body("atom-1"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json["status"], "transcribed");
  const auto id = created.json["id"].get<std::int64_t>();
  EXPECT_EQ(storage::MySqlNoteRepository(db).list_for_call(t, id)->size(), 1u);
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kAnalyze, bid)),
            std::vector<std::string>{std::to_string(id)});
}

TEST(IngestTranscript, ARetryCompletesACallAnInterruptedPushLeftPending) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest", "read"});
  auto& db = StorageEnvironment::db();
  const auto t = *storage::TenantId::make(bid);
  storage::MySqlCallRepository calls(db);
  // What the separate writes of earlier versions left after a crash: the call, no transcript.
  storage::CallInput in;
  in.external_id = "atom-old";
  in.started_at = storage::to_timestamp(std::chrono::system_clock::now());
  const auto id = calls.upsert(t, in).value().id;

  auto retried = gw.request("POST", "/api/v1/ingest/transcripts", key, transcript_body("atom-old"));
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(retried.json["id"], id);
  EXPECT_EQ(retried.json["status"], "transcribed") << "completed, not left stuck";
  auto tr = gw.request("GET", "/api/v1/calls/" + std::to_string(id) + "/transcript?format=txt", key);
  ASSERT_EQ(tr.status, 200) << tr.body;
  EXPECT_NE(tr.body.find("I was charged twice"), std::string::npos);
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kAnalyze, bid)),
            std::vector<std::string>{std::to_string(id)});
  EXPECT_EQ(calls.get(t, id)->attempts, 1);
}

TEST(IngestBrokerDown, UploadsAnswer503WithRetryAfterAndTheRetryMovesTheCall) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing");
  const auto key = api_key(gw, bid, {"ingest", "read"});
  // A gateway of the same database whose broker is down (nothing listens on port 1).
  queue::PublisherOptions publisher;
  publisher.confirm_timeout = std::chrono::seconds(2);
  ingest::IngestSettings s;
  s.max_audio_bytes = kMaxAudio;
  s.max_duration = std::chrono::minutes(10);
  Gateway down({true, 1'000'000, 1'000'000, std::chrono::seconds(60)}, 8 << 20, s, {}, nullptr, 4,
               "amqp://guest:guest@127.0.0.1:1/", publisher);

  auto expect_503 = [](const HttpReply& r) {
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.header("Retry-After"), "5");
    EXPECT_EQ(r.json["error"]["code"], "unavailable") << r.body;
    EXPECT_NE(r.json["error"]["message"].get<std::string>().find("message broker"), std::string::npos) << r.body;
  };
  auto text = down.request("POST", "/api/v1/ingest/transcripts", key, transcript_body("down-1"));
  expect_503(text);
  httplib::Client cli("127.0.0.1", down.port);
  cli.set_read_timeout(30, 0);
  auto res = cli.Post("/api/v1/ingest/calls", httplib::Headers{{"X-Api-Key", key}}, form("down-2", stereo_wav()));
  ASSERT_TRUE(res);
  HttpReply audio;
  audio.status = res->status;
  audio.body = res->body;
  audio.headers = res->headers;
  audio.json = json::parse(res->body, nullptr, false);
  expect_503(audio);

  // The same requests once the broker is back (the gateway that reaches it): the calls the
  // refused requests stored are handed on.
  auto text_again = gw.request("POST", "/api/v1/ingest/transcripts", key, transcript_body("down-1"));
  ASSERT_EQ(text_again.status, 200) << text_again.body;
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kAnalyze, bid)),
            std::vector<std::string>{std::to_string(text_again.json["id"].get<std::int64_t>())});
  auto audio_again = upload(gw, key, form("down-2", stereo_wav()));
  ASSERT_EQ(audio_again.status, 200) << audio_again.body;
  EXPECT_EQ(drain_call_ids(gw, queue::work_queue(queue::Stage::kTranscribe, bid)),
            std::vector<std::string>{std::to_string(audio_again.json["id"].get<std::int64_t>())});
}

// A Twilio recording status callback, signed as Twilio signs it.
HttpReply twilio_callback(Gateway& gw, const std::string& bid, const ingest::twilio::Params& params,
                          const std::string& token, bool tamper = false) {
  const std::string path = "/api/v1/ingest/twilio/" + bid;
  const std::string host = "127.0.0.1:" + std::to_string(gw.port);
  std::string sig = ingest::twilio::signature(token, "http://" + host + path, params);
  if (tamper) sig[3] = sig[3] == 'A' ? 'B' : 'A';
  std::string form;
  for (const auto& [k, v] : params) form += (form.empty() ? "" : "&") + k + "=" + http::url_encode(v);
  return gw.raw_request(
      "POST", path, form,
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", sig}, {"Host", host}});
}

TEST(IngestTwilio, SignedCallbackDownloadsAndIngestsTheRecording) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("tw");
  const auto admin = gw.user_token(bid, "admin");
  const std::string token = "tw-token-" + unique_suffix();
  const std::string account = "AC" + std::string(32, 'a');
  ASSERT_EQ(gw.request("PUT", "/api/v1/admin/businesses/" + bid + "/pipeline-config", admin,
                       {{"secrets", {{"twilio_auth_token", token}}}})
                .status,
            200);
  FakeTwilio twilio(account, token);
  const std::string rsid = "RE" + unique_suffix();
  twilio.add_recording(rsid, stereo_wav(2, 8000));
  const ingest::twilio::Params params = {{"AccountSid", account},          {"CallSid", "CA" + unique_suffix()},
                                         {"RecordingSid", rsid},           {"RecordingUrl", twilio.recording_url(rsid)},
                                         {"RecordingStatus", "completed"}, {"RecordingDuration", "2"},
                                         {"RecordingChannels", "2"}};

  auto bad = twilio_callback(gw, bid, params, token, true);
  EXPECT_EQ(bad.status, 401) << bad.body;
  auto wrong_key = twilio_callback(gw, bid, params, "not-the-token");
  EXPECT_EQ(wrong_key.status, 401) << wrong_key.body;
  EXPECT_EQ(twilio.downloads(), 0);

  auto ok = twilio_callback(gw, bid, params, token);
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.json["external_id"], "twilio-" + rsid);
  EXPECT_EQ(ok.json["media"]["sample_rate"], 8000);
  EXPECT_EQ(ok.json["media"]["channels"], 2);
  EXPECT_EQ(twilio.downloads(), 1);
  EXPECT_EQ(twilio.refused(), 0);  // the download carried the account's credentials
  const auto ids = drain_call_ids(gw, queue::work_queue(queue::Stage::kTranscribe, bid));
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], std::to_string(ok.json["id"].get<std::int64_t>()));

  // Twilio may call again: the existing call answers, nothing is downloaded twice.
  auto again = twilio_callback(gw, bid, params, token);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json["id"], ok.json["id"]);
  EXPECT_EQ(twilio.downloads(), 1);

  // Not a finished recording: acknowledged, ignored.
  auto in_progress = params;
  in_progress[4].second = "in-progress";
  auto ignored = twilio_callback(gw, bid, in_progress, token);
  EXPECT_EQ(ignored.status, 200) << ignored.body;
  EXPECT_EQ(ignored.json["ignored"], true);

  // Twilio throttling the download comes back as 429; an unknown recording as 422.
  const std::string rsid2 = "RE" + unique_suffix();
  twilio.add_recording(rsid2, stereo_wav(1, 8000));
  auto p2 = params;
  p2[2].second = rsid2;
  p2[3].second = twilio.recording_url(rsid2);
  twilio.throttle_next = 1;
  EXPECT_EQ(twilio_callback(gw, bid, p2, token).status, 429);
  EXPECT_EQ(twilio_callback(gw, bid, p2, token).status, 201);
  auto p3 = params;
  p3[2].second = "REmissing" + unique_suffix();
  p3[3].second = twilio.recording_url(p3[2].second);
  auto missing = twilio_callback(gw, bid, p3, token);
  EXPECT_EQ(missing.status, 422) << missing.body;

  // A business without a Twilio token, and one that does not exist.
  const auto plain = gw.new_business("tw");
  EXPECT_EQ(twilio_callback(gw, plain, params, token).status, 404);
  EXPECT_EQ(twilio_callback(gw, "nosuch-" + unique_suffix(), params, token).status, 404);
}

// Small files that decode to more than the duration limit (10 min here): a FLAC of
// silence with its length in the header, and the same with the length left out, which only
// the streaming decode can stop. 422 with the reason; nothing is stored.
TEST(IngestUpload, SmallFilesThatDecodePastTheDurationLimitAre422) {
  auto& gw = ingest_gateway();
  const auto bid = gw.new_business("ing-long");
  const auto key = api_key(gw, bid, {"ingest", "read"});
  const auto flac = std::filesystem::temp_directory_path() / ("earshot-long-" + unique_suffix() + ".flac");
  ASSERT_EQ(run_command("sox -D -n -r 8000 -c 1 -b 16 " + flac.string() + " trim 0 900").exit_code, 0)
      << "sox is needed (scripts/install-deps.sh)";
  const std::string known = read_file(flac.string());
  std::filesystem::remove(flac);
  ASSERT_LT(known.size(), std::size_t{100} << 10);  // 15 minutes in under 100 KB
  std::string unknown = known;
  unknown[21] = static_cast<char>(unknown[21] & 0xF0);  // STREAMINFO total samples: unknown
  for (int i = 22; i < 26; ++i) unknown[static_cast<std::size_t>(i)] = 0;
  for (const auto& [name, bytes, says] :
       {std::tuple{"long-known", known, std::string("above the limit of 600 s")},
        std::tuple{"long-unknown", unknown, std::string("more than the limit of 600 s")}}) {
    auto r = upload(gw, key, form(name, bytes, "call.flac", "audio/flac"));
    EXPECT_EQ(r.status, 422) << name << " " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "unprocessable_content") << name;
    EXPECT_NE(r.body.find(says), std::string::npos) << name << " " << r.body;
  }
  EXPECT_FALSE(std::filesystem::exists(gw.objects / bid));
  auto list = gw.request("GET", "/api/v1/calls", key);
  EXPECT_TRUE(list.json["items"].empty()) << list.body;
}

// The local store, except that writes under one business's prefix wait until released: the
// uploads of that business stay in progress for as long as the test needs.
class HeldStore final : public objectstore::ObjectStore {
 public:
  HeldStore(std::string root, std::string held_prefix) : local_(std::move(root)), held_(std::move(held_prefix)) {}
  Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t max) override {
    return local_.read(uri, max);
  }
  Result<std::string> put(std::string_view key, std::span<const std::uint8_t> bytes, std::string_view type) override {
    if (key.starts_with(held_)) {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    return local_.put(key, bytes, type);
  }
  Status remove(std::string_view uri) override { return local_.remove(uri); }
  Result<objectstore::ObjectInfo> stat(std::string_view uri) override { return local_.stat(uri); }
  Result<std::string> read_range(std::string_view uri, std::uint64_t o, std::uint64_t n) override {
    return local_.read_range(uri, o, n);
  }
  bool owns(std::string_view uri) const override { return local_.owns(uri); }
  Status owned_by(std::string_view uri, std::string_view bid) const override { return local_.owned_by(uri, bid); }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  objectstore::LocalObjectStore local_;
  std::string held_;
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool released_ = false;
};

// One business's uploads in progress are capped (429, Retry-After, the reason); another
// business uploads meanwhile; once one finishes the business may upload again.
TEST(IngestUpload, ConcurrentUploadsOfOneBusinessAreCappedOthersUnaffected) {
  const std::string busy = "cap-busy-" + unique_suffix();
  const auto root = std::filesystem::temp_directory_path() / ("earshot-cap-" + unique_suffix());
  std::filesystem::create_directories(root);
  auto store = std::make_shared<HeldStore>(root.string(), busy + "/");
  ingest::IngestSettings s;
  s.max_audio_bytes = kMaxAudio;
  s.max_duration = std::chrono::minutes(10);
  s.max_concurrent_uploads = 1;
  Gateway gw({true, 1'000'000, 1'000'000, std::chrono::seconds(60)}, 8 << 20, s, {}, store);
  const auto quiet = gw.new_business("cap-quiet");
  auto reg = gw.request("POST", "/api/v1/admin/businesses", gw.platform_token,
                        {{"bid", busy},
                         {"name", "Busy"},
                         {"admin_email", "admin@" + busy + ".test"},
                         {"admin_password", Gateway::kPassword}});
  ASSERT_EQ(reg.status, 201) << reg.body;
  gw.businesses.push_back(busy);
  const auto busy_key = api_key(gw, busy, {"ingest"});
  const auto quiet_key = api_key(gw, quiet, {"ingest"});
  const auto wav = stereo_wav(1);

  HttpReply first;
  std::thread t([&] { first = upload(gw, busy_key, form("held-1", wav)); });
  ASSERT_TRUE(wait_until([&] { return store->waiting() == 1; }, std::chrono::seconds(10)));
  auto over = upload(gw, busy_key, form("held-2", wav));
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(over.header("Retry-After"), "1");
  EXPECT_NE(over.body.find("being uploaded"), std::string::npos) << over.body;
  // Another business is not held up by it.
  EXPECT_EQ(upload(gw, quiet_key, form("quiet-1", wav)).status, 201);
  store->release();
  t.join();
  EXPECT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(upload(gw, busy_key, form("held-2", wav)).status, 201);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace earshot::testing

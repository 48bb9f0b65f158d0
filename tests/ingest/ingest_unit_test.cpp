// libs/ingest without services: the Twilio signature (Twilio's documented example), form
// decoding, the content checks of a recording and transcript segment validation.
#include <gtest/gtest.h>

#include "earshot/audio/wav_writer.hpp"
#include "earshot/ingest/ingestor.hpp"
#include "earshot/ingest/twilio.hpp"

namespace earshot::ingest {
namespace {

TEST(TwilioSignature, MatchesTwilioDocumentedExample) {
  // From Twilio's "Webhooks security" documentation.
  const twilio::Params params = {{"CallSid", "CA1234567890ABCDE"},
                                 {"Caller", "+12349013030"},
                                 {"Digits", "1234"},
                                 {"From", "+12349013030"},
                                 {"To", "+18005551212"}};
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_EQ(twilio::signature("12345", url, params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  // Order of the fields as sent does not matter; names are sorted.
  twilio::Params reversed(params.rbegin(), params.rend());
  EXPECT_TRUE(twilio::verify("12345", url, reversed, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  EXPECT_FALSE(twilio::verify("12346", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  EXPECT_FALSE(twilio::verify("12345", url + "&x=1", params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  auto changed = params;
  changed[2].second = "1235";
  EXPECT_FALSE(twilio::verify("12345", url, changed, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  EXPECT_FALSE(twilio::verify("12345", url, params, ""));
}

TEST(TwilioForm, DecodesEscapesAndPlus) {
  auto p = twilio::parse_form("From=%2B12349013030&Body=hello+world&Empty=&Flag");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[0], (std::pair<std::string, std::string>{"From", "+12349013030"}));
  EXPECT_EQ((*p)[1].second, "hello world");
  EXPECT_EQ((*p)[2].second, "");
  EXPECT_EQ((*p)[3].first, "Flag");
  EXPECT_FALSE(twilio::parse_form("a=%2"));
  EXPECT_FALSE(twilio::parse_form("a=%zz"));
}

TEST(TwilioForm, RecordingFieldsAreRequired) {
  auto r = twilio::parse_recording({{"AccountSid", "AC1"},
                                    {"RecordingSid", "RE1"},
                                    {"RecordingStatus", "completed"},
                                    {"RecordingDuration", "42"},
                                    {"RecordingChannels", "2"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->duration_s, 42);
  EXPECT_EQ(r->channels, 2);
  auto missing = twilio::parse_recording({{"AccountSid", "AC1"}, {"RecordingStatus", "completed"}});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("RecordingSid"), std::string::npos);
  EXPECT_FALSE(twilio::parse_recording({{"AccountSid", "AC1"}, {"RecordingSid", "../x"}, {"RecordingStatus", "c"}}));
}

std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

TEST(InspectAudio, ContentDecides) {
  IngestSettings limits;
  limits.max_audio_bytes = 200'000;
  limits.max_duration = std::chrono::seconds(5);
  std::vector<float> samples(8000 * 2, 0.1f);
  const auto wav = bytes_of(audio::encode_wav_pcm16(samples, 8000));
  auto ok = inspect_audio(wav, limits);
  ASSERT_TRUE(ok) << ok.error().error.message;
  EXPECT_EQ(ok->format, "wav");
  EXPECT_EQ(ok->duration_ms, 2000);
  EXPECT_EQ(ok->channels, 1);
  EXPECT_EQ(ok->sample_rate, 8000);

  EXPECT_EQ(inspect_audio({}, limits).error().http_status(), 400);
  const auto text = bytes_of("hello, this is plainly text and not audio at all");
  EXPECT_EQ(inspect_audio(text, limits).error().http_status(), 415);
  EXPECT_EQ(inspect_audio(text, limits).error().code(), "unsupported_media_type");
  const std::vector<std::uint8_t> cut(wav.begin(), wav.begin() + 20);
  EXPECT_EQ(inspect_audio(cut, limits).error().http_status(), 422);
  const auto long_wav = bytes_of(audio::encode_wav_pcm16(std::vector<float>(8000 * 6, 0.1f), 8000));
  auto too_long = inspect_audio(long_wav, limits);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().http_status(), 422);
  const auto big = bytes_of(audio::encode_wav_pcm16(std::vector<float>(120'000, 0.1f), 8000));
  auto too_big = inspect_audio(big, limits);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().http_status(), 413);
  EXPECT_EQ(too_big.error().code(), "payload_too_large");
}

TEST(Segments, ValidatedFieldByField) {
  using nlohmann::json;
  auto ok = parse_segments(json::parse(
      R"([{"speaker":"agent","start_ms":0,"end_ms":900,"text":"hello"},{"speaker":"customer","start_ms":950,"end_ms":2000,"text":"hi","confidence":0.5}])"));
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].speaker, "customer");
  EXPECT_DOUBLE_EQ((*ok)[1].confidence, 0.5);
  auto err = [](const char* text) {
    auto r = parse_segments(json::parse(text));
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(err("[]").find("1-5000"), std::string::npos);
  EXPECT_NE(err(R"([{"speaker":"bot","start_ms":0,"end_ms":1,"text":"x"}])").find("segments[0].speaker"),
            std::string::npos);
  EXPECT_NE(err(R"([{"speaker":"agent","start_ms":5,"end_ms":1,"text":"x"}])").find("end_ms"), std::string::npos);
  EXPECT_NE(err(R"([{"speaker":"agent","start_ms":0,"end_ms":1,"text":""}])").find("text"), std::string::npos);
  EXPECT_NE(err(R"([{"speaker":"agent","start_ms":0,"end_ms":1,"text":"x","extra":1}])").find("extra"),
            std::string::npos);
  EXPECT_NE(
      err(R"([{"speaker":"agent","start_ms":9,"end_ms":10,"text":"x"},{"speaker":"agent","start_ms":1,"end_ms":2,"text":"y"}])")
          .find("segments[1].start_ms"),
      std::string::npos);
}

TEST(Metadata, Validation) {
  CallMetadata m;
  EXPECT_FALSE(m.validate());
  m.external_id = "abc";
  EXPECT_TRUE(m.validate());
  m.external_id = std::string(129, 'x');
  EXPECT_FALSE(m.validate());
  m.external_id = "a\nb";
  EXPECT_FALSE(m.validate());
  m.external_id = "ok";
  m.agent_name = "Sam";
  EXPECT_FALSE(m.validate());  // a name without an agent id
  m.agent_id = "a1";
  EXPECT_TRUE(m.validate());
  m.language = "en US";
  EXPECT_FALSE(m.validate());
}

}  // namespace
}  // namespace earshot::ingest

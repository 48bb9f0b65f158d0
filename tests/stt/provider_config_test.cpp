#include "earshot/stt/provider_config.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace earshot::stt {
namespace {

TEST(ProviderConfig, ParsesEveryKey) {
  auto c = parse_provider_config(R"({"provider":"sarvam","api_key":"sk-secret","base_url":"http://127.0.0.1:9/",
    "model":"saaras:v3","language":"hi-IN","timeout_ms":1000,"connect_timeout_ms":200,"deadline_ms":60000,
    "max_attempts":3,"initial_backoff_ms":10,"max_backoff_ms":100,"max_retry_after_ms":5000,
    "poll_interval_ms":50,"max_poll_interval_ms":500,"max_response_bytes":4096})");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->provider, "sarvam");
  EXPECT_EQ(c->base_url, "http://127.0.0.1:9");
  EXPECT_EQ(c->model, "saaras:v3");
  EXPECT_EQ(c->timeout.count(), 1000);
  EXPECT_EQ(c->retry.max_attempts, 3);
  EXPECT_EQ(c->retry.max_retry_after.count(), 5000);
  EXPECT_EQ(c->max_response_bytes, 4096U);
}

TEST(ProviderConfig, DefaultsBaseUrlPerProvider) {
  auto c = parse_provider_config(R"({"provider":"deepgram","api_key":"k"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->base_url, "https://api.deepgram.com");
  auto o = parse_provider_config(R"({"provider":"openai"})");
  ASSERT_TRUE(o);  // self-hosted OpenAI-compatible servers often take no key
  EXPECT_EQ(o->base_url, "https://api.openai.com");
}

TEST(ProviderConfig, RefusesUnknownKeysAndBadValuesNamingTheKey) {
  auto unknown = parse_provider_config(R"({"provider":"sarvam","api_key":"k","timeout":5})");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("timeout"), std::string::npos);
  auto bad = parse_provider_config(R"({"provider":"sarvam","api_key":"k","max_attempts":0})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("max_attempts"), std::string::npos);
  auto nokey = parse_provider_config(R"({"provider":"sarvam"})");
  ASSERT_FALSE(nokey);
  EXPECT_NE(nokey.error().message.find("api_key"), std::string::npos);
  auto which = parse_provider_config(R"({"provider":"acme"})");
  ASSERT_FALSE(which);
  EXPECT_NE(which.error().message.find("provider"), std::string::npos);
  EXPECT_FALSE(parse_provider_config(R"({"provider":"sarvam","api_key":"k","base_url":"file:///x"})"));
  EXPECT_FALSE(parse_provider_config("not json"));
}

// The names parse_provider_config knows are the ones is_known_provider answers for and its
// refusal lists (the pipeline-config route checks stt_provider with them).
TEST(ProviderConfig, KnownProvidersAreTheOnesTheParserAccepts) {
  EXPECT_EQ(known_provider_names(), "sarvam, deepgram, openai, whisper_cpp");
  for (const char* name : {"sarvam", "deepgram", "openai", "whisper_cpp"}) {
    EXPECT_TRUE(is_known_provider(name)) << name;
    EXPECT_TRUE(parse_provider_config(fmt::format(R"({{"provider":"{}","api_key":"k"}})", name))) << name;
  }
  for (const char* name : {"acme", "", "Sarvam", "sarvam:saarika", "whisper"}) {
    EXPECT_FALSE(is_known_provider(name)) << name;
    auto c = parse_provider_config(fmt::format(R"({{"provider":"{}","api_key":"k"}})", name));
    ASSERT_FALSE(c) << name;
  }
  EXPECT_EQ(parse_provider_config(R"({"provider":"acme"})").error().message,
            "provider config: provider must be one of sarvam, deepgram, openai, whisper_cpp");
}

TEST(AudioContentType, ComesFromTheBytes) {
  const auto pad = [](const std::string& head) { return head + std::string(64, '\x01'); };
  EXPECT_EQ(audio_content_type(pad(std::string("RIFF\x24\x00\x00\x00WAVEfmt ", 16))), "audio/wav");
  EXPECT_EQ(audio_content_type(pad("fLaC")), "audio/flac");
  EXPECT_EQ(audio_content_type(pad("OggS")), "audio/ogg");
  EXPECT_EQ(audio_content_type(pad("ID3\x03")), "audio/mpeg");
  EXPECT_EQ(audio_extension(pad("ID3\x03")), "mp3");
  EXPECT_EQ(audio_content_type(pad("<html>")), "application/octet-stream");
  EXPECT_EQ(audio_extension(pad("<html>")), "bin");
}

TEST(ProviderConfig, DescribeNeverShowsTheKey) {
  auto c = parse_provider_config(R"({"provider":"deepgram","api_key":"dg-very-secret"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->describe().find("dg-very-secret"), std::string::npos);
  EXPECT_NE(c->describe().find("***"), std::string::npos);
}

}  // namespace
}  // namespace earshot::stt

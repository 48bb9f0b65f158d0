// LLM provider answers: the Ollama, OpenAI-compatible and Bedrock chat adapters, whole and
// streamed (Ollama NDJSON, OpenAI server-sent events, delivered in pieces of varying size),
// and the embedding adapters, against replies taken from the input (fuzz_http.hpp).
// Input: a selector byte (adapter, whole or streamed, JSON schema or not), then the replies.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/llm/chat.hpp"
#include "earshot/llm/embedding.hpp"
#include "fuzz_http.hpp"

namespace llm = earshot::llm;

namespace {

llm::ChatEndpoint endpoint() {
  llm::ChatEndpoint e;
  e.base_url = "http://llm.test";
  e.model = "m";
  e.retry.max_attempts = 2;
  return e;
}

std::unique_ptr<llm::ChatProvider> chat_provider(int which, earshot::http::HttpClient& client,
                                                 const earshot::Clock& clock) {
  switch (which) {
    case 0:
      return std::make_unique<llm::OllamaChatProvider>(llm::OllamaConfig{.endpoint = endpoint()}, client, clock);
    case 1:
      return std::make_unique<llm::OpenAiChatProvider>(llm::OpenAiConfig{.endpoint = endpoint(), .api_key = "k"},
                                                       client, clock);
    default:
      return std::make_unique<llm::BedrockChatProvider>(
          llm::BedrockConfig{.endpoint = endpoint(),
                             .credentials = {.access_key_id = "AKID", .secret_access_key = "s", .session_token = ""}},
          client, clock);
  }
}

std::unique_ptr<llm::EmbeddingProvider> embedder(int which, earshot::http::HttpClient& client,
                                                 const earshot::Clock& clock) {
  switch (which) {
    case 0:
      return std::make_unique<llm::OllamaEmbedder>(llm::OllamaEmbedConfig{.endpoint = endpoint()}, client, clock);
    case 1:
      return std::make_unique<llm::OllamaEmbedder>(
          llm::OllamaEmbedConfig{.endpoint = endpoint(), .legacy_endpoint = true}, client, clock);
    case 2:
      return std::make_unique<llm::OpenAiEmbedder>(llm::OpenAiConfig{.endpoint = endpoint(), .api_key = "k"}, client,
                                                   clock);
    default:
      return std::make_unique<llm::TitanEmbedder>(
          llm::TitanConfig{.endpoint = endpoint(),
                           .credentials = {.access_key_id = "AKID", .secret_access_key = "s", .session_token = ""}},
          client, clock);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t sel = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  earshot::testing::FakeClock clock;
  earshot::fuzz::FuzzHttpClient client(clock, earshot::fuzz::replies_of(rest));

  if ((sel & 0x80) != 0) {
    auto e = embedder(sel % 4, client, clock);
    e->embed({"first text", "second text"}, [](earshot::Result<std::vector<llm::Embedding>> r) {
      if (r && r->size() != 2) __builtin_trap();  // one vector per text
    });
    client.run();
    (void)llm::parse_embeddings("fuzz", rest, 2);
    return 0;
  }

  auto provider = chat_provider(sel % 3, client, clock);
  llm::ChatRequest req;
  req.system = "You are terse.";
  req.messages = {{"user", "hello"}};
  if ((sel & 0x10) != 0) req.json_schema = R"({"type":"object","properties":{"ok":{"type":"boolean"}}})";
  if ((sel & 0x20) != 0) {
    auto text = std::make_shared<std::string>();
    provider->stream(
        req, [text](std::string_view piece) { *text += piece; },
        [text](earshot::Result<llm::ChatResponse> r) {
          if (r && r->text != *text) __builtin_trap();  // the pieces make the answer
        });
  } else {
    provider->complete(req, [](earshot::Result<llm::ChatResponse> r) {
      if (r && (r->input_tokens < 0 || r->output_tokens < 0)) __builtin_trap();
    });
  }
  client.run();
  return 0;
}

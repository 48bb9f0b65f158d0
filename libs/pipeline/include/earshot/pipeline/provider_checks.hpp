#pragma once
// The provider names of a pipeline config, checked by the code that builds the providers
// from them, so what the pipeline-config route accepts is exactly what the workers can run.
//
// - check_stt_provider (transcribe_stage.cpp, beside the transcriber factories): the
//   in-process transcribers (pocketsphinx, local, none) or a speech provider
//   stt::parse_provider_config knows (sarvam, deepgram, openai, whisper_cpp).
// - check_embedding_provider (llm_agents.cpp, beside LlmProviderFactory): a form
//   llm::parse_embedding_provider reads (hashed-bow, hashed-bow:N, ollama:MODEL,
//   openai:MODEL, bedrock:MODEL).
//
// - check_local_stt_options (transcribe_stage.cpp): the stt_options of the offline engine
//   (pocketsphinx, local): only a "vocabulary" (stt/vocabulary.hpp).
//
// All answer kInvalidArgument with a message naming the valid values.

#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::pipeline {

[[nodiscard]] Status check_stt_provider(std::string_view stt_provider);
[[nodiscard]] Status check_embedding_provider(std::string_view embedding_provider);
[[nodiscard]] Status check_local_stt_options(std::string_view stt_options_json);

}  // namespace earshot::pipeline

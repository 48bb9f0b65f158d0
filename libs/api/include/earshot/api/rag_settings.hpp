#pragma once
// The gateway's settings for search, chat, similar calls and the knowledge base.

#include <chrono>
#include <cstdint>

#include "earshot/core/config.hpp"

namespace earshot::api {

struct RagSettings {
  std::int64_t index_memory_bytes = std::int64_t{2} << 30;    // loaded search shards, all businesses
  std::int64_t chat_requests_per_minute = 30;                 // per business
  std::int64_t chat_tokens_per_day = 1'000'000;               // per business: LLM prompt + answer tokens
  std::int64_t knowledge_max_bytes = std::int64_t{10} << 20;  // one uploaded or posted document
  std::chrono::milliseconds chat_timeout{60'000};             // one chat answer, retrieval to last token

  // Declares rag_index_memory_bytes, chat_requests_per_minute, chat_tokens_per_day,
  // knowledge_max_bytes, chat_timeout.
  void declare(ConfigSpec& spec);
};

}  // namespace earshot::api

#include "earshot/llm/providers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "earshot/http/sigv4.hpp"

namespace earshot::llm {
namespace {

using nlohmann::json;

// A business's fleet-wide LLM rate, per minute (0: none).
constexpr double kMaxRequestsPerMinute = 1'000'000;

std::string secret(const std::map<std::string, std::string>& s, std::string_view name) {
  auto it = s.find(std::string(name));
  return it == s.end() ? std::string() : it->second;
}

std::string openai_key(const std::map<std::string, std::string>& s) {
  auto k = secret(s, "openai_api_key");
  return k.empty() ? secret(s, "llm_api_key") : k;
}

http::AwsCredentials aws(const std::map<std::string, std::string>& s) {
  return {secret(s, "aws_access_key_id"), secret(s, "aws_secret_access_key"), secret(s, "aws_session_token")};
}

ChatEndpoint endpoint(const ProviderSpec& spec, const ProviderDefaults& d) {
  ChatEndpoint e;
  e.model = spec.model;
  e.request_timeout = spec.request_timeout;
  e.deadline = std::max(d.deadline, spec.request_timeout);
  if (!spec.base_url.empty()) {
    e.base_url = spec.base_url;
  } else if (spec.provider == "ollama") {
    e.base_url = d.ollama_url;
  } else if (spec.provider == "openai") {
    e.base_url = d.openai_url;
  } else {
    e.base_url = d.bedrock_url;
  }
  return e;
}

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// What an embedding model name may hold.
bool model_char(char c) {
  return alnum(c) || c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@';
}

}  // namespace

Result<std::vector<ProviderSpec>> parse_llm_chain(std::string_view text) {
  auto j = json::parse(text.empty() ? std::string_view("[]") : text, nullptr, false);
  if (!j.is_array()) return make_error(ErrorCode::kInvalidArgument, "llm_chain must be a JSON list");
  std::vector<ProviderSpec> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    auto bad = [&](std::string_view field, std::string_view what) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("llm_chain[{}].{}: {}", i, field, what));
    };
    if (!e.is_object())
      return make_error(ErrorCode::kInvalidArgument, fmt::format("llm_chain[{}]: must be an object", i));
    ProviderSpec s;
    if (!e.contains("provider") || !e["provider"].is_string()) return bad("provider", "is required");
    s.provider = e["provider"];
    if (s.provider != "bedrock" && s.provider != "ollama" && s.provider != "openai") {
      return bad("provider", "must be bedrock, ollama or openai");
    }
    if (!e.contains("model") || !e["model"].is_string() || e["model"].get<std::string>().empty()) {
      return bad("model", "is required");
    }
    s.model = e["model"];
    if (e.contains("base_url")) {
      if (!e["base_url"].is_string()) return bad("base_url", "must be a string");
      s.base_url = e["base_url"];
      if (!s.base_url.starts_with("http://") && !s.base_url.starts_with("https://")) {
        return bad("base_url", "must start with http:// or https://");
      }
      while (s.base_url.ends_with('/')) s.base_url.pop_back();
    }
    if (e.contains("region")) {
      if (!e["region"].is_string()) return bad("region", "must be a string");
      s.region = e["region"];
    }
    if (e.contains("timeout_ms")) {
      if (!e["timeout_ms"].is_number_integer() || e["timeout_ms"].get<std::int64_t>() < 100 ||
          e["timeout_ms"].get<std::int64_t>() > 600'000) {
        return bad("timeout_ms", "must be an integer from 100 to 600000");
      }
      s.request_timeout = std::chrono::milliseconds(e["timeout_ms"].get<std::int64_t>());
    }
    if (e.contains("max_in_flight")) {
      if (!e["max_in_flight"].is_number_integer() || e["max_in_flight"].get<int>() < 1 ||
          e["max_in_flight"].get<int>() > 4096) {
        return bad("max_in_flight", "must be an integer from 1 to 4096");
      }
      s.max_in_flight = e["max_in_flight"];
    }
    if (e.contains("requests_per_minute")) {
      // Bounded: the limiter turns it into whole tokens and milliseconds.
      if (!e["requests_per_minute"].is_number() || !(e["requests_per_minute"].get<double>() >= 0) ||
          e["requests_per_minute"].get<double>() > kMaxRequestsPerMinute) {
        return bad("requests_per_minute", "must be a number from 0 to 1000000");
      }
      s.requests_per_minute = e["requests_per_minute"];
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string provider_fingerprint(const ProviderSpec& spec, const std::map<std::string, std::string>& secrets) {
  std::string creds;
  if (spec.provider == "openai") creds = openai_key(secrets);
  if (spec.provider == "bedrock") {
    const auto a = aws(secrets);
    creds = a.access_key_id + '\n' + a.secret_access_key + '\n' + a.session_token;
  }
  return fmt::format("{}|{}|{}|{}|{}|{}", spec.provider, spec.model, spec.base_url, spec.region,
                     spec.request_timeout.count(), http::sha256_hex(creds));
}

Result<std::unique_ptr<ChatProvider>> make_chat_provider(const ProviderSpec& spec,
                                                         const std::map<std::string, std::string>& secrets,
                                                         const ProviderDefaults& defaults, http::HttpClient& client,
                                                         const Clock& clock) {
  if (spec.provider == "ollama") {
    return std::make_unique<OllamaChatProvider>(OllamaConfig{endpoint(spec, defaults), 0}, client, clock);
  }
  if (spec.provider == "openai") {
    return std::make_unique<OpenAiChatProvider>(OpenAiConfig{endpoint(spec, defaults), openai_key(secrets)}, client,
                                                clock);
  }
  if (spec.provider == "bedrock") {
    auto creds = aws(secrets);
    if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "bedrock needs the secrets aws_access_key_id and aws_secret_access_key");
    }
    return std::make_unique<BedrockChatProvider>(BedrockConfig{endpoint(spec, defaults), spec.region, std::move(creds)},
                                                 client, clock);
  }
  return make_error(ErrorCode::kInvalidArgument, fmt::format("unknown LLM provider '{}'", spec.provider));
}

Result<EmbeddingSpec> parse_embedding_provider(std::string_view spec) {
  auto bad = [](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("embedding_provider {}; it must be {}", why, kEmbeddingProviderForms));
  };
  const auto colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view model = colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
  EmbeddingSpec out;
  if (spec.empty() || kind == "hashed-bow") {
    out.provider = "hashed-bow";
    if (colon == std::string_view::npos) return out;
    int dim = 0;
    const std::string digits(model);
    const char* end = digits.c_str() + digits.size();
    if (auto [p, ec] = std::from_chars(digits.c_str(), end, dim);
        digits.empty() || ec != std::errc() || p != end || dim < 8 || dim > 4096) {
      return bad("hashed-bow:N needs N from 8 to 4096");
    }
    out.dimension = dim;
    return out;
  }
  if (kind != "ollama" && kind != "openai" && kind != "bedrock" && kind != "titan") {
    // Named back only when it looks like a name (never echo control characters or pages of text).
    const bool nameable =
        !kind.empty() && kind.size() <= 32 && std::ranges::all_of(kind, [](char c) { return alnum(c) || c == '-'; });
    return bad(nameable ? fmt::format("names an unknown provider '{}'", kind) : std::string("names no known provider"));
  }
  out.provider = std::string(kind);
  if (model.empty()) return bad(fmt::format("'{}' needs a model ({}:MODEL)", kind, kind));
  if (model.size() > kMaxEmbeddingModel || !alnum(model.front()) || !std::ranges::all_of(model, model_char) ||
      model.find("..") != std::string_view::npos || model.find("//") != std::string_view::npos) {
    return bad(fmt::format(
        "has a bad model name (1-{} letters, digits and . _ - : / @, starting with a letter or digit, no .. or //)",
        kMaxEmbeddingModel));
  }
  out.model = std::string(model);
  return out;
}

Result<std::unique_ptr<EmbeddingProvider>> make_embedding_provider(
    std::string_view spec, const std::vector<ProviderSpec>& chain, const std::map<std::string, std::string>& secrets,
    const ProviderDefaults& defaults, http::HttpClient& client, const Clock& clock, http::RequestObserver on_request) {
  auto parsed = parse_embedding_provider(spec);
  if (!parsed) return std::unexpected(parsed.error());
  const std::string& kind = parsed->provider;
  if (kind == "hashed-bow") return std::make_unique<HashedBowEmbedder>(parsed->dimension);
  ProviderSpec s;
  s.provider = kind;
  s.model = parsed->model;
  for (const auto& c : chain) {
    if (c.provider == kind) {
      s.base_url = c.base_url;
      s.region = c.region;
      s.request_timeout = c.request_timeout;
      break;
    }
  }
  auto ep = endpoint(s, defaults);
  ep.on_request = std::move(on_request);
  if (kind == "ollama") return std::make_unique<OllamaEmbedder>(OllamaEmbedConfig{ep, false}, client, clock);
  if (kind == "openai") {
    return std::make_unique<OpenAiEmbedder>(OpenAiConfig{ep, openai_key(secrets)}, client, clock);
  }
  if (kind == "bedrock" || kind == "titan") {
    auto creds = aws(secrets);
    if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "bedrock embeddings need the secrets aws_access_key_id and aws_secret_access_key");
    }
    TitanConfig tc;
    tc.endpoint = ep;
    tc.region = s.region;
    tc.credentials = std::move(creds);
    return std::make_unique<TitanEmbedder>(std::move(tc), client, clock);
  }
  return make_error(ErrorCode::kInvalidArgument, fmt::format("unknown embedding provider '{}'", kind));
}

}  // namespace earshot::llm

#include "earshot/llm/embedding.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "json_util.hpp"

namespace earshot::llm {

using nlohmann::json;

// --- hashed bag of words ------------------------------------------------------------------

HashedBowEmbedder::HashedBowEmbedder(int dimension) : dimension_(dimension > 0 ? dimension : 256) {}

std::string HashedBowEmbedder::id() const {
  return fmt::format("hashed-bow:{}", dimension_);
}

Embedding HashedBowEmbedder::embed_one(std::string_view text) const {
  Embedding v(static_cast<std::size_t>(dimension_), 0.0F);
  std::uint64_t h = 0;
  bool in_token = false;
  const auto flush = [&] {
    if (!in_token) return;
    const auto slot = static_cast<std::size_t>(h % static_cast<std::uint64_t>(dimension_));
    v[slot] += (h >> 63) != 0 ? -1.0F : 1.0F;
    in_token = false;
  };
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '\'' || c >= 0x80) {
      if (!in_token) {
        h = 14695981039346656037ULL;
        in_token = true;
      }
      h ^= static_cast<unsigned char>(std::tolower(c));
      h *= 1099511628211ULL;
    } else {
      flush();
    }
  }
  flush();
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm > 0) {
    const double inv = 1.0 / std::sqrt(norm);
    for (float& x : v) x = static_cast<float>(x * inv);
  }
  return v;
}

void HashedBowEmbedder::embed(std::vector<std::string> texts, EmbedCallback done) {
  std::vector<Embedding> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(embed_one(t));
  done(std::move(out));
}

// --- parsing ------------------------------------------------------------------------------

namespace {

Result<Embedding> to_vector(std::string_view provider, const json& j) {
  if (!j.is_array()) return std::unexpected(detail::malformed(provider, "embedding is not an array"));
  Embedding v;
  v.reserve(j.size());
  for (const auto& x : j) {
    if (!x.is_number()) return std::unexpected(detail::malformed(provider, "embedding holds a non-number"));
    v.push_back(x.get<float>());
  }
  return v;
}

}  // namespace

Result<std::vector<Embedding>> parse_embeddings(std::string_view provider, std::string_view body,
                                                std::size_t expected) {
  const auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return std::unexpected(detail::malformed(provider, "not a JSON object"));
  std::vector<Embedding> out;
  if (auto e = j.find("embeddings"); e != j.end()) {
    if (!e->is_array()) return std::unexpected(detail::malformed(provider, "embeddings is not an array"));
    for (const auto& row : *e) {
      auto v = to_vector(provider, row);
      if (!v) return std::unexpected(v.error());
      out.push_back(std::move(*v));
    }
  } else if (auto one = j.find("embedding"); one != j.end()) {
    auto v = to_vector(provider, *one);
    if (!v) return std::unexpected(v.error());
    out.push_back(std::move(*v));
  } else if (auto data = j.find("data"); data != j.end() && data->is_array()) {
    out.resize(data->size());
    std::vector<bool> seen(data->size(), false);
    for (const auto& item : *data) {
      const auto index = item.value("index", -1);
      if (index < 0 || static_cast<std::size_t>(index) >= out.size() || seen[static_cast<std::size_t>(index)]) {
        return std::unexpected(detail::malformed(provider, "bad or repeated data[].index"));
      }
      auto v = to_vector(provider, item.value("embedding", json()));
      if (!v) return std::unexpected(v.error());
      out[static_cast<std::size_t>(index)] = std::move(*v);
      seen[static_cast<std::size_t>(index)] = true;
    }
  } else {
    return std::unexpected(detail::malformed(provider, "no embeddings, embedding or data"));
  }
  if (out.size() != expected) {
    return std::unexpected(
        detail::malformed(provider, fmt::format("{} embeddings for {} texts", out.size(), expected)));
  }
  return out;
}

namespace {

http::RetryContext retry_context(const char* what, const ChatEndpoint& ep, http::HttpClient& client,
                                 const Clock& clock) {
  http::RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &clock;
  ctx.policy = ep.retry;
  ctx.deadline = clock.steady_now() + ep.deadline;
  ctx.what = what;
  ctx.observer = ep.on_request;
  return ctx;
}

http::HttpRequest post(const ChatEndpoint& ep, std::string url, std::string body) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = std::move(url);
  req.connect_timeout = ep.connect_timeout;
  req.timeout = ep.request_timeout;
  req.set_body(std::move(body), "application/json");
  return req;
}

// Runs one request per text, all at once, and completes with the vectors in input order or
// with the first error.
class FanOut : public std::enable_shared_from_this<FanOut> {
 public:
  FanOut(std::size_t n, EmbedCallback done) : results_(n), left_(n), done_(std::move(done)) {}
  void set(std::size_t i, Result<std::vector<Embedding>> r) {
    EmbedCallback finish;
    Result<std::vector<Embedding>> out;
    {
      std::lock_guard lock(mu_);
      if (!done_) return;  // already failed
      if (!r) {
        finish = std::move(done_);
        out = std::unexpected(std::move(r.error()));
      } else {
        results_[i] = std::move(r->front());
        if (--left_ == 0) {
          finish = std::move(done_);
          out = std::move(results_);
        }
      }
    }
    if (finish) finish(std::move(out));
  }

 private:
  std::mutex mu_;
  std::vector<Embedding> results_;
  std::size_t left_;
  EmbedCallback done_;
};

}  // namespace

// --- Titan --------------------------------------------------------------------------------

TitanEmbedder::TitanEmbedder(TitanConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)),
      client_(&client),
      clock_(&clock),
      signer_(config_.credentials, config_.region, "bedrock", clock) {
  if (config_.endpoint.model.empty()) config_.endpoint.model = "amazon.titan-embed-text-v2:0";
  if (config_.endpoint.base_url.empty()) {
    config_.endpoint.base_url = fmt::format("https://bedrock-runtime.{}.amazonaws.com", config_.region);
  }
}

void TitanEmbedder::embed(std::vector<std::string> texts, EmbedCallback done) {
  if (texts.empty()) {
    done(std::vector<Embedding>{});
    return;
  }
  auto fan = std::make_shared<FanOut>(texts.size(), std::move(done));
  const std::string url =
      detail::join_url(config_.endpoint.base_url, "/model/" + encode_model_id(config_.endpoint.model) + "/invoke");
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const json body{{"inputText", texts[i]}, {"dimensions", config_.dimensions}, {"normalize", config_.normalize}};
    http::send_with_retry(
        retry_context("bedrock titan embed", config_.endpoint, *client_, *clock_),
        [this, url, payload = body.dump()] {
          auto req = post(config_.endpoint, url, payload);
          (void)signer_.sign(req);  // fails only on a malformed URL, which the send reports
          return req;
        },
        bedrock_error,
        [fan, i](Result<http::HttpResponse> r) {
          if (!r) {
            fan->set(i, std::unexpected(std::move(r.error())));
            return;
          }
          fan->set(i, parse_embeddings("bedrock", r->body, 1));
        });
  }
}

// --- Ollama -------------------------------------------------------------------------------

OllamaEmbedder::OllamaEmbedder(OllamaEmbedConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)), client_(&client), clock_(&clock) {}

void OllamaEmbedder::embed(std::vector<std::string> texts, EmbedCallback done) {
  if (texts.empty()) {
    done(std::vector<Embedding>{});
    return;
  }
  if (config_.legacy_endpoint) {
    auto fan = std::make_shared<FanOut>(texts.size(), std::move(done));
    const std::string url = detail::join_url(config_.endpoint.base_url, "/api/embeddings");
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const json body{{"model", config_.endpoint.model}, {"prompt", texts[i]}};
      http::send_with_retry(
          retry_context("ollama embeddings", config_.endpoint, *client_, *clock_),
          [this, url, payload = body.dump()] { return post(config_.endpoint, url, payload); }, ollama_error,
          [fan, i](Result<http::HttpResponse> r) {
            if (!r) {
              fan->set(i, std::unexpected(std::move(r.error())));
              return;
            }
            fan->set(i, parse_embeddings("ollama", r->body, 1));
          });
    }
    return;
  }
  const std::size_t n = texts.size();
  const json body{{"model", config_.endpoint.model}, {"input", std::move(texts)}};
  http::send_with_retry(
      retry_context("ollama embed", config_.endpoint, *client_, *clock_),
      [this, url = detail::join_url(config_.endpoint.base_url, "/api/embed"), payload = body.dump()] {
        return post(config_.endpoint, url, payload);
      },
      ollama_error,
      [done = std::move(done), n](Result<http::HttpResponse> r) {
        if (!r) {
          done(std::unexpected(std::move(r.error())));
          return;
        }
        done(parse_embeddings("ollama", r->body, n));
      });
}

// --- OpenAI-compatible --------------------------------------------------------------------

OpenAiEmbedder::OpenAiEmbedder(OpenAiConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)), client_(&client), clock_(&clock) {}

void OpenAiEmbedder::embed(std::vector<std::string> texts, EmbedCallback done) {
  if (texts.empty()) {
    done(std::vector<Embedding>{});
    return;
  }
  const std::size_t n = texts.size();
  const json body{{"model", config_.endpoint.model}, {"input", std::move(texts)}};
  http::send_with_retry(
      retry_context("openai embeddings", config_.endpoint, *client_, *clock_),
      [this, url = detail::join_url(config_.endpoint.base_url, "/v1/embeddings"), payload = body.dump()] {
        auto req = post(config_.endpoint, url, payload);
        if (!config_.api_key.empty()) req.add_header("Authorization", "Bearer " + config_.api_key);
        return req;
      },
      [](const http::HttpResponse& r) { return openai_error("openai", r); },
      [done = std::move(done), n](Result<http::HttpResponse> r) {
        if (!r) {
          done(std::unexpected(std::move(r.error())));
          return;
        }
        done(parse_embeddings("openai", r->body, n));
      });
}

}  // namespace earshot::llm

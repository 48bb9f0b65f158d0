#include "lean_ollama.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "fakes/llm/fake_llm.hpp"

namespace earshot::bench {
namespace {

std::string ollama_error(int /*status*/, const std::string& message) {
  return nlohmann::json{{"error", message}}.dump();
}

}  // namespace

LeanOllama::LeanOllama(std::chrono::milliseconds latency)
    : latency_(latency),
      server_(
          true, [this](const LeanRequest& req) { return handle(req); }, ollama_error) {}

LeanResponse LeanOllama::handle(const LeanRequest& req) const {
  if (req.method != "POST" || req.path != "/api/chat") return {404, ollama_error(404, "404 page not found")};
  const auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (!body.is_object()) return {400, ollama_error(400, "invalid JSON body")};
  if (body.value("stream", true)) return {400, ollama_error(400, "this fake answers \"stream\": false only")};
  if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
  std::string text = R"({"summary":"The customer asked for a refund.","outcome":"resolved"})";
  for (const auto& [marker, reply] : replies_) {
    if (req.body.find(marker) != std::string::npos) {
      text = reply;
      break;
    }
  }
  return {200, testing::ollama_chat_answer(body.value("model", ""), text)};
}

}  // namespace earshot::bench

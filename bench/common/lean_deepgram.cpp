#include "lean_deepgram.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace earshot::bench {
namespace {

constexpr std::uint64_t kWords = 208827064576ULL;  // 26^8: eight-letter words

std::string deepgram_error(int status, const std::string& message) {
  return nlohmann::json{{"err_code", status == 404 ? "Not Found" : "Bad Request"}, {"err_msg", message}}.dump();
}

}  // namespace

LeanDeepgram::LeanDeepgram(std::string api_key, std::vector<testing::FakeUtterance> script,
                           std::chrono::milliseconds latency, std::string placeholder)
    : api_key_(std::move(api_key)),
      script_(std::move(script)),
      latency_(latency),
      placeholder_(std::move(placeholder)),
      server_(
          false, [this](const LeanRequest& req) { return handle(req); }, deepgram_error) {
  std::random_device rd;
  first_word_ = ((static_cast<std::uint64_t>(rd()) << 32U) | rd()) % kWords;
}

std::string LeanDeepgram::unique_body(const std::string& body) {
  std::uint64_t n = (first_word_ + requests_.fetch_add(1)) % kWords;
  std::string word(placeholder_.size(), 'a');
  for (auto it = word.rbegin(); it != word.rend() && n > 0; ++it, n /= 26) *it = static_cast<char>('a' + n % 26);
  std::string out = body;
  for (auto at = out.find(placeholder_); at != std::string::npos; at = out.find(placeholder_, at + word.size())) {
    out.replace(at, placeholder_.size(), word);
  }
  return out;
}

const testing::DeepgramAnswer& LeanDeepgram::answer(const testing::DeepgramListen& req) {
  const auto key = fmt::format("{}\n{}\n{}\n{}\n{}{}{}", req.authorization, req.content_type, req.model, req.utterances,
                               req.multichannel ? 1 : 0, req.diarize ? 1 : 0, req.body_bytes > 0);
  std::lock_guard l(mu_);
  auto it = answers_.find(key);
  if (it == answers_.end()) {
    auto reduced = req;
    reduced.body_bytes = req.body_bytes > 0 ? 1 : 0;
    it = answers_.emplace(key, testing::deepgram_listen(reduced, api_key_, script_)).first;
  }
  return it->second;
}

LeanResponse LeanDeepgram::handle(const LeanRequest& req) {
  if (req.method != "POST" || req.path != "/v1/listen") return {404, deepgram_error(404, "no such route")};
  if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
  const auto& a = answer({.authorization = req.header("authorization"),
                          .content_type = req.header("content-type"),
                          .model = req.param("model"),
                          .utterances = req.param("utterances"),
                          .multichannel = req.param("multichannel") == "true",
                          .diarize = req.param("diarize") == "true",
                          .body_bytes = req.body_bytes});
  const bool unique = !placeholder_.empty() && a.status == 200;
  return {a.status, unique ? unique_body(a.body) : a.body};
}

}  // namespace earshot::bench

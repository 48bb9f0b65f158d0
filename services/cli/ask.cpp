// `earshot ask --url URL --bid BID --email E --password-file F QUESTION`: one chat question
// through the gateway, as a user of the business (chat sessions belong to users, so API keys
// cannot chat). Prints the answer, then each citation: the call and the second it points at,
// or the knowledge-base document and part.
#include "ask.hpp"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_args.hpp"
#include "earshot/http/curl_http_client.hpp"

namespace earshot::cli {

namespace {

using nlohmann::json;

int usage(std::ostream& out) {
  out << "Usage: earshot ask --url URL --bid BID --email EMAIL --password-file FILE QUESTION\n\n"
         "Logs in to the gateway at URL as the user EMAIL of business BID (the password is the\n"
         "first line of FILE), asks QUESTION of the business's calls and knowledge base\n"
         "(POST /api/v1/chat) and prints the answer with its citations. Without an LLM\n"
         "configured for the business the answer is extractive (the best passages, each cited).\n";
  return 0;
}

// POST `body` as JSON; the parsed answer, or an error naming the status and body.
Result<json> post_json(http::HttpClient& client, const std::string& url, const json& body, const std::string& token) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.set_body(body.dump(), "application/json");
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  req.timeout = std::chrono::seconds(120);
  auto res = client.send_sync(std::move(req));
  if (!res) return std::unexpected(res.error());
  auto parsed = json::parse(res->body, nullptr, false);
  if (res->status != 200 || !parsed.is_object()) {
    return make_error(ErrorCode::kUnavailable, fmt::format("{} answered HTTP {}: {}", url, res->status, res->body));
  }
  return parsed;
}

std::string citation_line(const json& c) {
  const auto n = c.value("n", 0);
  if (c.value("kind", "") == "call") {
    std::string at;
    if (c.contains("start_ms") && c["start_ms"].is_number_integer()) {
      const auto s = c["start_ms"].get<std::int64_t>() / 1000;
      at = fmt::format(" at {:02}:{:02}", s / 60, s % 60);
    }
    return fmt::format("  [{}] call {}{}", n, c.value("call_id", std::int64_t{0}), at);
  }
  return fmt::format("  [{}] document {} '{}', part {}", n, c.value("document_id", std::int64_t{0}),
                     c.value("title", ""), c.value("chunk_index", 0) + 1);
}

}  // namespace

int ask(std::span<char*> args) {
  std::string url;
  std::string bid;
  std::string email;
  std::string password_file;
  std::string question;
  const ParsedArgs parsed =
      parse_args(args, {{"--url", &url}, {"--bid", &bid}, {"--email", &email}, {"--password-file", &password_file}}, 1);
  if (parsed.outcome == ArgsOutcome::kHelp) return usage(std::cout);
  if (parsed.outcome == ArgsOutcome::kBad) {
    std::cerr << fmt::format("earshot ask: {}\n", parsed.error);
    return 2;
  }
  if (!parsed.positional.empty()) question = parsed.positional.front();
  while (url.ends_with('/')) url.pop_back();
  if (url.empty() || bid.empty() || email.empty() || password_file.empty() || question.empty()) {
    usage(std::cerr);
    return 2;
  }
  const std::optional<std::string> password = first_line_of(password_file);
  if (!password) {
    std::cerr << fmt::format("earshot ask: no password in {}\n", password_file);
    return 2;
  }
  http::CurlHttpClient client;
  auto login =
      post_json(client, url + "/api/v1/auth/login", {{"email", email}, {"password", *password}, {"bid", bid}}, "");
  if (!login || !(*login)["access_token"].is_string()) {
    std::cerr << fmt::format("earshot ask: login: {}\n", login ? "no access token" : login.error().message);
    return 1;
  }
  auto answer = post_json(client, url + "/api/v1/chat", {{"question", question}}, (*login)["access_token"]);
  if (!answer) {
    std::cerr << fmt::format("earshot ask: {}\n", answer.error().message);
    return 1;
  }
  const auto& a = *answer;
  std::cout << a.value("answer", "") << "\n";
  if (a.contains("citations") && a["citations"].is_array() && !a["citations"].empty()) {
    std::cout << "Citations:\n";
    for (const auto& c : a["citations"]) std::cout << citation_line(c) << "\n";
  }
  return 0;
}

}  // namespace earshot::cli

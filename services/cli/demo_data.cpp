// `earshot demo-data`: synthetic stereo calls for a demo business, uploaded through the
// upload API like any client would send them.
//
//   earshot demo-data [--calls N] [--out DIR]                       write WAVs + manifest.json
//   earshot demo-data ... --upload URL --key-file F [--bid B]       and POST each to
//                                                                    URL/api/v1/ingest/calls
//
// Three agents and six customers; scripted billing, sales and complaint dialogues spoken by
// flite voices, agent on the left channel and customer on the right, with holds (long
// silences) and interruptions (overlapping speech). External ids are stable
// ("demo-upload-001", ...), so running it again answers 200 with the existing calls.
// With --bid, a missing or no longer valid key file is replaced by a new API key (scopes
// ingest and read) of that business, created in the database and written to F (mode 0600).
#include "demo_data.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "cli_env.hpp"
#include "earshot/core/config.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"
#include "synth.hpp"

namespace earshot::cli {
namespace {

using json = nlohmann::json;

struct Agent {
  const char* id;
  const char* name;
  const char* voice;
};
struct Customer {
  const char* name;
  const char* phone;
  const char* city;
  const char* voice;
};
struct Script {
  const char* category;  // billing | sales | complaint
  const char* direction;
  const char* context;
  std::vector<SpokenLine> lines;
};

const Agent kAgents[] = {
    {"agent-sarah", "Sarah Lee", "slt"}, {"agent-mark", "Mark Diaz", "kal"}, {"agent-alan", "Alan Reid", "awb"}};
const Customer kCustomers[] = {
    {"Dana Smith", "+1 512 555 0143", "Austin", "rms"},     {"Omar Haddad", "+1 415 555 0178", "San Francisco", "awb"},
    {"Priya Nair", "+91 98200 55012", "Pune", "rms"},       {"Lukas Brandt", "+1 312 555 0190", "Chicago", "kal"},
    {"Grace Okafor", "+1 646 555 0112", "New York", "awb"}, {"Tom Becker", "+1 206 555 0155", "Seattle", "rms"}};

const std::vector<Script>& scripts() {
  static const std::vector<Script> s = {
      {"billing",
       "inbound",
       "double charge on the October invoice",
       {{true, "Thank you for calling Acme billing, my name is {agent}, how can I help you today?", 400},
        {false, "Hi, I was charged twice for my October invoice.", 700},
        {true, "I am sorry about that. Please hold while I look into your account.", 600},
        {true, "Thank you for holding. I can see the duplicate charge and I have refunded it.", 6000},
        {false, "Great, thank you. When will I see the money back?", 500},
        {true, "The refund takes three to five business days. Is there anything else I can help with?", 600},
        {false, "No, that is all. Thanks for your help.", 500}}},
      {"sales",
       "outbound",
       "follow-up on the premium plan trial",
       {{true, "Hello, this is {agent} from Acme. I am calling about your premium plan trial.", 300},
        {false, "Oh yes, hello. I have been using it for two weeks.", 800},
        {true, "Wonderful. Would you like to upgrade today? I can offer twenty percent off the first year.", 600},
        {false, "Twenty percent sounds good. What does the plan include?", 700},
        {true, "Unlimited users, priority support and the analytics dashboard.", 500},
        {false, "Okay, let us do it. Please upgrade my account.", 600},
        {true, "Done. Thank you for choosing Acme, you will get a confirmation email shortly.", 500}}},
      {"complaint",
       "inbound",
       "blender delivered broken",
       {{true, "Thank you for calling Acme support, this is {agent}. How can I help?", 400},
        {false, "The blender I ordered arrived broken and I am very unhappy about it.", 700},
        {true, "I am really sorry to hear that. We will send you a replacement right away.", 600},
        {false, "No, I do not want a replacement, I want a refund.", -1200},
        {true, "Of course. I will process a full refund today.", 900},
        {false, "This is the second time this happened. It is terrible service.", 500},
        {true, "I understand, and I apologize. I have added a credit to your account as well.", 700}}},
      {"billing",
       "inbound",
       "refund for a cancelled subscription",
       {{true, "Acme billing, {agent} speaking.", 300},
        {false, "I cancelled my subscription last month but you still charged me.", 600},
        {true, "Let me check that for you.", 500},
        {false, "This is ridiculous, I want my money back now.", -800},
        {true, "I completely understand. The cancellation was recorded late, so I am refunding the charge.", 700},
        {false, "Okay. Please make sure it does not happen again.", 900},
        {true, "It will not. You will receive a confirmation by email.", 500}}},
      {"sales",
       "inbound",
       "pricing question from a new customer",
       {{true, "Thank you for calling Acme sales, this is {agent}.", 400},
        {false, "Hi, I run a small team of ten people. How much does your service cost?", 600},
        {true, "For ten people the standard plan is two hundred dollars a month.", 700},
        {false, "Is there a discount if we pay for the whole year?", 500},
        {true, "Yes, annual billing saves fifteen percent. I can send you a quote.", 600},
        {false, "Please do, that would be helpful.", 400},
        {true, "I have sent it to your email. Thank you for calling.", 600}}},
      {"complaint",
       "inbound",
       "late delivery, asked for a manager",
       {{true, "Acme support, this is {agent}, how may I help you?", 400},
        {false, "My order is two weeks late and nobody answers my emails.", 700},
        {true, "I am sorry. Let me track the order. Please hold.", 600},
        {true, "Thank you for waiting. The package is stuck at the depot.", 7000},
        {false, "That is not acceptable. I want to speak to a manager.", 500},
        {true, "I understand your frustration. I will escalate this to my manager and we will call you back today.",
         -600},
        {false, "Fine. I expect a call today.", 800}}},
  };
  return s;
}

std::string with_agent(const std::string& text, const std::string& agent_first_name) {
  std::string out = text;
  const auto at = out.find("{agent}");
  if (at != std::string::npos) out.replace(at, 7, agent_first_name);
  return out;
}

// Categories for the scripted dialogs, in the analytics rule format (docs/analyze.md): what
// the calls are about, who pushed back, and the holds and talk-over the scripts contain.
// Phrases are single words or short phrases in several forms, since the transcripts come
// from speech recognition.
json demo_categories() {
  auto said = [](const char* speaker, std::initializer_list<const char*> phrases) {
    return json{{"type", "transcript"}, {"speaker", speaker}, {"match", "forms"}, {"phrases", phrases}};
  };
  return json::array(
      {{{"name", "billing"},
        {"rules", {said("anyone", {"charge", "charged", "invoice", "refund", "billing", "bill", "subscription"})}}},
       {{"name", "sales"},
        {"rules", {said("anyone", {"upgrade", "plan", "discount", "quote", "price", "pricing", "trial", "annual"})}}},
       {{"name", "complaint"},
        {"rules",
         {said("customer",
               {"broken", "unhappy", "terrible", "not acceptable", "ridiculous", "late", "complaint", "money back"})}}},
       {{"name", "escalation risk"},
        {"rules",
         {said("customer", {"manager", "supervisor", "not acceptable", "ridiculous", "lawyer", "cancel my account"})}}},
       {{"name", "long hold"}, {"rules", {{{"type", "non_talk"}, {"min_ms", 5000}}}}},
       {{"name", "talk-over"}, {"rules", {{{"type", "interruption"}, {"speaker", "anyone"}, {"min_ms", 500}}}}}});
}

// A QA scorecard ({"questions": [...]}): greeting, identity check, empathy, resolution and
// closing answered by rules on the agent's words, talk balance and talk-over by metrics.
json demo_scorecard() {
  auto agent_said = [](std::initializer_list<const char*> phrases, json window = nullptr) {
    json r{{"type", "transcript"}, {"speaker", "agent"}, {"match", "forms"}, {"phrases", phrases}};
    if (!window.is_null()) r["window"] = std::move(window);
    return json{{"kind", "rule"}, {"rules", json::array({r})}};
  };
  auto metric = [](const char* name, const char* op, double value) {
    return json{{"kind", "metric"}, {"metric", name}, {"op", op}, {"value", value}};
  };
  auto q = [](const char* id, const char* text, int weight, json answer) {
    return json{{"id", id}, {"text", text}, {"weight", weight}, {"answer", std::move(answer)}};
  };
  return json{{"questions",
               json::array({q("greeting", "Did the agent greet the customer and give their name?", 1,
                              agent_said({"thank you for calling", "calling", "speaking", "this is", "how can i help",
                                          "how may i help"},
                                         {{"first_ms", 20000}})),
                            q("verify_identity", "Did the agent verify the customer's identity or account?", 1,
                              agent_said({"verify", "your account", "account number", "order number", "date of birth",
                                          "confirm your"})),
                            q("empathy", "Did the agent acknowledge the customer's problem with empathy?", 2,
                              agent_said({"sorry", "apologize", "apologise", "understand"})),
                            q("resolution", "Did the agent resolve the request or commit to a next step?", 2,
                              agent_said({"refund", "refunded", "refunding", "replacement", "done", "sent", "escalate",
                                          "credit", "call you back"})),
                            q("closing", "Did the agent close the call politely?", 1,
                              agent_said({"anything else", "thank you", "thanks", "confirmation", "call you back"},
                                         {{"last_ms", 30000}})),
                            q("talk_balance", "Did the agent let the customer talk (agent talk ratio at most 0.75)?", 1,
                              metric("agent_talk_ratio", "<=", 0.75)),
                            q("no_talk_over", "Was there little talk-over (at most 2 s)?", 1,
                              metric("overtalk_ms", "<=", 2000))})}};
}

constexpr const char* kDemoScorecardName = "Call quality";

// Makes the business's rule sets of `kind` ("categories" or "scorecards") hold `wanted`
// ({"name", field: ...}), matched by name: missing ones are created, changed ones replaced,
// equal ones left alone, so running the demo again duplicates nothing.
Status ensure_rule_sets(http::HttpClient& client, const std::string& base, const std::string& token, const char* kind,
                        const char* field, const json& wanted) {
  auto call = [&](const char* method, const std::string& url, const json* body) -> Result<json> {
    http::HttpRequest req;
    req.method = method;
    req.url = url;
    req.add_header("Authorization", "Bearer " + token);
    if (body != nullptr) req.set_body(body->dump(), "application/json");
    req.timeout = std::chrono::seconds(30);
    auto res = client.send_sync(std::move(req));
    if (!res) return std::unexpected(res.error());
    if (res->status >= 300) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("{} {} answered HTTP {}: {}", method, url, res->status, res->body));
    }
    return json::parse(res->body, nullptr, false);
  };
  const std::string url = fmt::format("{}/{}", base, kind);
  auto have = call("GET", url, nullptr);
  if (!have) return std::unexpected(have.error());
  int created = 0, updated = 0, same = 0;
  for (const auto& w : wanted) {
    const json body{{"name", w["name"]}, {field, w[field]}, {"enabled", true}};
    const json* found = nullptr;
    if (have->is_object() && (*have)["items"].is_array()) {
      for (const auto& h : (*have)["items"]) {
        if (h.value("name", "") == w["name"].get<std::string>()) found = &h;
      }
    }
    Result<json> r;
    if (found == nullptr) {
      r = call("POST", url, &body);
      ++created;
    } else if ((*found)[field] != w[field] || !found->value("enabled", false)) {
      r = call("PUT", fmt::format("{}/{}", url, (*found)["id"].get<std::int64_t>()), &body);
      ++updated;
    } else {
      ++same;
    }
    if (!r) return std::unexpected(r.error());
  }
  std::cout << fmt::format("{}: {} created, {} updated, {} unchanged\n", kind, created, updated, same);
  return {};
}

// Logs in as the business admin and sets up the demo categories and scorecard.
Status ensure_demo_analytics(http::HttpClient& client, const std::string& api, const std::string& bid,
                             const std::string& email, const std::string& password) {
  http::HttpRequest login;
  login.method = "POST";
  login.url = api + "/api/v1/auth/login";
  login.set_body(json{{"email", email}, {"password", password}, {"bid", bid}}.dump(), "application/json");
  login.timeout = std::chrono::seconds(30);
  auto res = client.send_sync(std::move(login));
  if (!res) return std::unexpected(res.error());
  auto body = json::parse(res->body, nullptr, false);
  if (res->status != 200 || !body.is_object() || !body.contains("access_token")) {
    return make_error(ErrorCode::kUnauthenticated,
                      fmt::format("login as {} answered HTTP {}: {}", email, res->status, res->body));
  }
  const std::string token = body["access_token"];
  const std::string base = fmt::format("{}/api/v1/admin/businesses/{}", api, bid);
  if (auto st = ensure_rule_sets(client, base, token, "categories", "rules", demo_categories()); !st) return st;
  const json card = json::array({{{"name", kDemoScorecardName}, {"questions", demo_scorecard()["questions"]}}});
  return ensure_rule_sets(client, base, token, "scorecards", "questions", card);
}

std::string iso_utc(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(t));
}

int usage(std::ostream& out, const ConfigSpec& spec) {
  out << "Usage: earshot demo-data [--calls N] [--out DIR] [--upload URL --key-file FILE [--bid BID]\n"
         "                         [--admin-email E --admin-password-file F]]\n\n"
         "Synthesises N (default 8, at most 60) stereo demo calls with flite into DIR (default\n"
         "./.local/demo/calls: call-NNN.wav and manifest.json; existing files are reused), with\n"
         "categories.json and scorecard.json for them (analyze-file --categories / --scorecard).\n"
         "With --upload, sends each to URL/api/v1/ingest/calls with the API key in FILE.\n"
         "With --admin-email and --admin-password-file (and --bid), first logs in as that\n"
         "business admin and creates or updates the demo categories and the QA scorecard\n"
         "\"Call quality\" through the admin API (matched by name: nothing is duplicated).\n"
         "With --bid, a missing or invalid key file gets a new ingest+read key of BID\n"
         "(created in the database; needs the EARSHOT_MYSQL_* settings):\n"
      << spec.help_text();
  return 0;
}

// 200 with the key: usable; 401/403: not.
Result<bool> key_works(http::HttpClient& client, const std::string& url, const std::string& key) {
  http::HttpRequest req;
  req.url = url + "/api/v1/calls?limit=1";
  req.add_header("X-Api-Key", key);
  req.timeout = std::chrono::seconds(10);
  auto res = client.send_sync(std::move(req));
  if (!res) return std::unexpected(res.error());
  if (res->status == 200) return true;
  if (res->status == 401 || res->status == 403) return false;
  return make_error(ErrorCode::kUnavailable, fmt::format("{} answered HTTP {}: {}", url, res->status, res->body));
}

}  // namespace

int demo_data(std::span<char*> args) {
  int n_calls = 8;
  std::string out_dir = "./.local/demo/calls";
  std::string upload_url;
  std::string key_file;
  std::string bid;
  std::string admin_email;
  std::string admin_password_file;
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  mysql.declare(spec);
  std::string calls = std::to_string(n_calls);
  const ParsedArgs parsed = parse_args(args, {{"--calls", &calls},
                                              {"--out", &out_dir},
                                              {"--upload", &upload_url},
                                              {"--key-file", &key_file},
                                              {"--bid", &bid},
                                              {"--admin-email", &admin_email},
                                              {"--admin-password-file", &admin_password_file}});
  if (parsed.outcome == ArgsOutcome::kHelp) return usage(std::cout, spec);
  if (parsed.outcome == ArgsOutcome::kBad) {
    std::cerr << fmt::format("earshot demo-data: {}\n", parsed.error);
    return 2;
  }
  n_calls = std::atoi(calls.c_str());
  while (upload_url.ends_with('/')) upload_url.pop_back();
  if (n_calls < 1 || n_calls > 60 || out_dir.empty()) {
    std::cerr << "earshot demo-data: --calls must be 1..60 and --out a directory\n";
    return 2;
  }
  if (!upload_url.empty() && key_file.empty()) {
    std::cerr << "earshot demo-data: --upload needs --key-file\n";
    return 2;
  }
  if (admin_email.empty() != admin_password_file.empty() ||
      (!admin_email.empty() && (upload_url.empty() || bid.empty()))) {
    std::cerr << "earshot demo-data: --admin-email and --admin-password-file go together, with --upload and --bid\n";
    return 2;
  }

  // 1. The recordings and their manifest.
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::cerr << fmt::format("earshot demo-data: {}: {}\n", out_dir, ec.message());
    return 1;
  }
  const auto now = std::chrono::system_clock::now();
  json manifest = json::array();
  for (int i = 0; i < n_calls; ++i) {
    const auto& script = scripts()[static_cast<std::size_t>(i) % scripts().size()];
    const auto& agent = kAgents[static_cast<std::size_t>(i) % std::size(kAgents)];
    const auto& customer = kCustomers[static_cast<std::size_t>(i * 5 + i / 6) % std::size(kCustomers)];
    const std::string file = fmt::format("call-{:03}.wav", i + 1);
    const auto path = std::filesystem::path(out_dir) / file;
    if (!std::filesystem::exists(path)) {
      std::vector<SpokenLine> lines = script.lines;
      const std::string first_name = std::string(agent.name).substr(0, std::string(agent.name).find(' '));
      for (auto& l : lines) l.text = with_agent(l.text, first_name);
      // The customer never shares the agent's voice.
      const std::string customer_voice = customer.voice == std::string(agent.voice) ? "rms" : customer.voice;
      const std::string agent_voice = customer_voice == agent.voice ? "slt" : agent.voice;
      auto wav = synthesize_stereo_call(lines, agent_voice, customer_voice, 16000);
      if (!wav) {
        std::cerr << fmt::format("earshot demo-data: {}\n", wav.error().to_string());
        return 1;
      }
      const auto tmp = path.string() + ".tmp";
      {
        std::ofstream f(tmp, std::ios::binary);
        f << *wav;
        if (!f) {
          std::cerr << fmt::format("earshot demo-data: cannot write {}\n", tmp);
          return 1;
        }
      }
      std::filesystem::rename(tmp, path, ec);
    }
    manifest.push_back(json{{"file", file},
                            {"external_id", fmt::format("demo-upload-{:03}", i + 1)},
                            {"agent_id", agent.id},
                            {"agent_name", agent.name},
                            {"customer_name", customer.name},
                            {"customer_phone", customer.phone},
                            {"city", customer.city},
                            {"direction", script.direction},
                            {"issue_category", script.category},
                            {"call_context", script.context},
                            {"language", "en"},
                            {"started_at", iso_utc(now - std::chrono::minutes(53) * (n_calls - i))}});
  }
  {
    std::ofstream f(std::filesystem::path(out_dir) / "manifest.json");
    f << manifest.dump(2) << "\n";
  }
  {
    std::ofstream c(std::filesystem::path(out_dir) / "categories.json");
    c << demo_categories().dump(2) << "\n";
    std::ofstream q(std::filesystem::path(out_dir) / "scorecard.json");
    q << demo_scorecard().dump(2) << "\n";
  }
  std::cout << fmt::format("{} demo call(s) in {}\n", n_calls, out_dir);
  if (upload_url.empty()) return 0;

  // 2. The key.
  http::CurlHttpClient client;
  std::string key = first_line_of(key_file).value_or("");
  bool usable = false;
  if (!key.empty()) {
    auto ok = key_works(client, upload_url, key);
    if (!ok) {
      std::cerr << fmt::format("earshot demo-data: {}\n", ok.error().to_string());
      return 1;
    }
    usable = *ok;
  }
  if (!usable) {
    if (bid.empty()) {
      std::cerr << fmt::format("earshot demo-data: no usable API key in {} (give --bid to create one)\n", key_file);
      return 2;
    }
    if (auto st = spec.load(scoped_env({"MYSQL_"})); !st) {
      std::cerr << fmt::format("earshot demo-data: {}\n", st.error().message);
      return 2;
    }
    auto tenant = storage::TenantId::make(bid);
    if (!tenant) {
      std::cerr << fmt::format("earshot demo-data: {}\n", tenant.error().message);
      return 2;
    }
    mysql.pool_size = 1;
    storage::Database db(mysql);
    storage::MySqlApiKeyRepository keys(db);
    auto gen = crypto::generate_api_key();
    if (auto id = keys.create(*tenant, "demo uploads", gen.prefix, gen.hash, {"ingest", "read"}); !id) {
      std::cerr << fmt::format("earshot demo-data: creating the API key: {}\n", id.error().to_string());
      return 1;
    }
    const auto old_mask = ::umask(077);
    {
      std::ofstream f(key_file, std::ios::trunc);
      f << gen.secret << "\n";
    }
    ::umask(old_mask);
    ::chmod(key_file.c_str(), 0600);
    key = gen.secret;
    std::cout << fmt::format("created an ingest+read API key for '{}' in {}\n", bid, key_file);
  }

  // 3. Categories and the QA scorecard, before any call is analyzed.
  if (!admin_email.empty()) {
    const std::string password = first_line_of(admin_password_file).value_or("");
    if (password.empty()) {
      std::cerr << fmt::format("earshot demo-data: no password in {}\n", admin_password_file);
      return 2;
    }
    if (auto st = ensure_demo_analytics(client, upload_url, bid, admin_email, password); !st) {
      std::cerr << fmt::format("earshot demo-data: setting up categories and the scorecard: {}\n",
                               st.error().to_string());
      return 1;
    }
  }

  // 4. The uploads.
  int created = 0, existing = 0, failed = 0;
  for (const auto& m : manifest) {
    std::ifstream f(std::filesystem::path(out_dir) / m["file"].get<std::string>(), std::ios::binary);
    std::string wav((std::istreambuf_iterator<char>(f)), {});
    std::vector<http::MultipartPart> parts;
    parts.push_back({"audio", std::move(wav), m["file"].get<std::string>(), "audio/wav"});
    for (const auto& [k, v] : m.items()) {
      if (k != "file") parts.push_back({k, v.get<std::string>(), "", ""});
    }
    http::HttpRequest req;
    req.method = "POST";
    req.url = upload_url + "/api/v1/ingest/calls";
    req.add_header("X-Api-Key", key);
    req.set_multipart(parts);
    req.timeout = std::chrono::seconds(60);
    auto res = client.send_sync(std::move(req));
    if (!res) {
      ++failed;
      std::cerr << fmt::format("  {}: {}\n", m["external_id"].get<std::string>(), res.error().to_string());
      continue;
    }
    auto body = json::parse(res->body, nullptr, false);
    if (res->status == 201) {
      ++created;
    } else if (res->status == 200) {
      ++existing;
    } else {
      ++failed;
    }
    std::cout << fmt::format("  {} -> HTTP {} call {} {}\n", m["external_id"].get<std::string>(), res->status,
                             body.is_object() ? body.value("id", json(nullptr)).dump() : "-",
                             res->status >= 300 ? res->body : std::string());
  }
  std::cout << fmt::format("uploaded: {} created, {} already there, {} failed\n", created, existing, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace earshot::cli

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

const Agent kAgents[] = {{"agent-sarah", "Sarah Lee", "slt"}, {"agent-mark", "Mark Diaz", "kal"},
                         {"agent-alan", "Alan Reid", "awb"}};
const Customer kCustomers[] = {{"Dana Smith", "+1 512 555 0143", "Austin", "rms"},
                               {"Omar Haddad", "+1 415 555 0178", "San Francisco", "awb"},
                               {"Priya Nair", "+91 98200 55012", "Pune", "rms"},
                               {"Lukas Brandt", "+1 312 555 0190", "Chicago", "kal"},
                               {"Grace Okafor", "+1 646 555 0112", "New York", "awb"},
                               {"Tom Becker", "+1 206 555 0155", "Seattle", "rms"}};

const std::vector<Script>& scripts() {
  static const std::vector<Script> s = {
      {"billing", "inbound", "double charge on the October invoice",
       {{true, "Thank you for calling Acme billing, my name is {agent}, how can I help you today?", 400},
        {false, "Hi, I was charged twice for my October invoice.", 700},
        {true, "I am sorry about that. Please hold while I look into your account.", 600},
        {true, "Thank you for holding. I can see the duplicate charge and I have refunded it.", 6000},
        {false, "Great, thank you. When will I see the money back?", 500},
        {true, "The refund takes three to five business days. Is there anything else I can help with?", 600},
        {false, "No, that is all. Thanks for your help.", 500}}},
      {"sales", "outbound", "follow-up on the premium plan trial",
       {{true, "Hello, this is {agent} from Acme. I am calling about your premium plan trial.", 300},
        {false, "Oh yes, hello. I have been using it for two weeks.", 800},
        {true, "Wonderful. Would you like to upgrade today? I can offer twenty percent off the first year.", 600},
        {false, "Twenty percent sounds good. What does the plan include?", 700},
        {true, "Unlimited users, priority support and the analytics dashboard.", 500},
        {false, "Okay, let us do it. Please upgrade my account.", 600},
        {true, "Done. Thank you for choosing Acme, you will get a confirmation email shortly.", 500}}},
      {"complaint", "inbound", "blender delivered broken",
       {{true, "Thank you for calling Acme support, this is {agent}. How can I help?", 400},
        {false, "The blender I ordered arrived broken and I am very unhappy about it.", 700},
        {true, "I am really sorry to hear that. We will send you a replacement right away.", 600},
        {false, "No, I do not want a replacement, I want a refund.", -1200},
        {true, "Of course. I will process a full refund today.", 900},
        {false, "This is the second time this happened. It is terrible service.", 500},
        {true, "I understand, and I apologize. I have added a credit to your account as well.", 700}}},
      {"billing", "inbound", "refund for a cancelled subscription",
       {{true, "Acme billing, {agent} speaking.", 300},
        {false, "I cancelled my subscription last month but you still charged me.", 600},
        {true, "Let me check that for you.", 500},
        {false, "This is ridiculous, I want my money back now.", -800},
        {true, "I completely understand. The cancellation was recorded late, so I am refunding the charge.", 700},
        {false, "Okay. Please make sure it does not happen again.", 900},
        {true, "It will not. You will receive a confirmation by email.", 500}}},
      {"sales", "inbound", "pricing question from a new customer",
       {{true, "Thank you for calling Acme sales, this is {agent}.", 400},
        {false, "Hi, I run a small team of ten people. How much does your service cost?", 600},
        {true, "For ten people the standard plan is two hundred dollars a month.", 700},
        {false, "Is there a discount if we pay for the whole year?", 500},
        {true, "Yes, annual billing saves fifteen percent. I can send you a quote.", 600},
        {false, "Please do, that would be helpful.", 400},
        {true, "I have sent it to your email. Thank you for calling.", 600}}},
      {"complaint", "inbound", "late delivery, asked for a manager",
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

std::string iso_utc(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(t));
}

int usage(std::ostream& out, const ConfigSpec& spec) {
  out << "Usage: earshot demo-data [--calls N] [--out DIR] [--upload URL --key-file FILE [--bid BID]]\n\n"
         "Synthesises N (default 8, at most 60) stereo demo calls with flite into DIR (default\n"
         "./.local/demo/calls: call-NNN.wav and manifest.json; existing files are reused).\n"
         "With --upload, sends each to URL/api/v1/ingest/calls with the API key in FILE.\n"
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
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  mysql.declare(spec);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a(args[i]);
    auto value = [&]() -> std::string { return i + 1 < args.size() ? std::string(args[++i]) : std::string(); };
    if (a == "--calls") {
      n_calls = std::atoi(value().c_str());
    } else if (a == "--out") {
      out_dir = value();
    } else if (a == "--upload") {
      upload_url = value();
    } else if (a == "--key-file") {
      key_file = value();
    } else if (a == "--bid") {
      bid = value();
    } else if (a == "--help" || a == "-h") {
      return usage(std::cout, spec);
    } else {
      std::cerr << fmt::format("earshot demo-data: unknown option '{}'\n", a);
      return 2;
    }
  }
  while (upload_url.ends_with('/')) upload_url.pop_back();
  if (n_calls < 1 || n_calls > 60 || out_dir.empty()) {
    std::cerr << "earshot demo-data: --calls must be 1..60 and --out a directory\n";
    return 2;
  }
  if (!upload_url.empty() && key_file.empty()) {
    std::cerr << "earshot demo-data: --upload needs --key-file\n";
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
  std::cout << fmt::format("{} demo call(s) in {}\n", n_calls, out_dir);
  if (upload_url.empty()) return 0;

  // 2. The key.
  http::CurlHttpClient client;
  std::string key;
  {
    std::ifstream f(key_file);
    std::getline(f, key);
  }
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

  // 3. The uploads.
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

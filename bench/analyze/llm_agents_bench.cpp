// The LLM agent path of the analyze stage against a fake provider that answers after 3 s
// (Ollama /api/chat wire format, loopback HTTP): calls' agents run concurrently through the
// business limits, the provider's process limit and the one-thread async curl client. Prints
// the peak of requests in flight (as the fake saw them), requests per second and the agent
// latency percentiles.
//
//   build-*/bin/llm_agents_bench [--calls N] [--businesses B] [--latency-ms MS] [--per-host N]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "earshot/http/curl_http_client.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "fakes/llm/fake_llm.hpp"

using namespace earshot;
using nlohmann::json;

int main(int argc, char** argv) {
  int calls = 60;
  int businesses = 4;
  int latency_ms = 3000;
  int per_host = 1024;  // curl's connection cap per host (the worker's default is 256)
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--calls")
      calls = std::atoi(argv[i + 1]);
    else if (a == "--businesses")
      businesses = std::atoi(argv[i + 1]);
    else if (a == "--latency-ms")
      latency_ms = std::atoi(argv[i + 1]);
    else if (a == "--per-host")
      per_host = std::atoi(argv[i + 1]);
  }
  const auto& defaults = pipeline::default_agents();
  const int requests = calls * static_cast<int>(defaults.size());

  testing::FakeProviderServer::Options fo;
  fo.threads = requests + 16;  // the fake holds every request open for the latency
  testing::FakeOllama fake(fo);
  if (!fake.start()) {
    fmt::print(stderr, "cannot start the fake provider\n");
    return 1;
  }
  fake.set_latency(std::chrono::milliseconds(latency_ms));
  // One valid answer per default agent, chosen by the "Task: <name>" line of its prompt.
  const std::vector<std::pair<std::string, std::string>> replies = {
      {"summary", R"({"summary":"Refund issued.","key_points":[]})"},
      {"bant",
       R"({"budget":{"value":null,"evidence":null},"authority":{"value":null,"evidence":null},"need":{"value":null,"evidence":null},"timeline":{"value":null,"evidence":null},"qualified":false})"},
      {"sop_compliance", R"({"score":90,"violations":[]})"},
      {"objections", R"({"objections":[]})"},
      {"coaching_tips", R"({"tips":[],"strength":"Calm."})"},
      {"issue_outcome", R"({"issue":"slow internet","outcome":"resolved","action_items":[],"escalate":false})"}};
  for (const auto& [name, text] : replies) fake.set_reply_for("Task: " + name, text);

  http::CurlHttpClientOptions co;
  co.max_connections_per_host = static_cast<std::size_t>(per_host);
  co.max_total_connections = static_cast<std::size_t>(per_host) * 2;
  http::CurlHttpClient client(co);
  pipeline::LlmSettings settings;
  settings.provider_max_in_flight = 1024;
  pipeline::LlmProviderFactory factory(client, SystemClock::instance(), settings);
  Metrics metrics("bench", "", "");
  pipeline::LlmAgents agents(nullptr, metrics, SystemClock::instance(), settings);

  std::vector<std::shared_ptr<const pipeline::BusinessLlm>> chains;
  for (int b = 0; b < businesses; ++b) {
    storage::PipelineConfig pc;
    pc.version = 1;
    pc.llm_chain_json = json::array({{{"provider", "ollama"},
                                      {"model", "bench"},
                                      {"base_url", fake.base_url()},
                                      {"max_in_flight", 1000},
                                      {"timeout_ms", latency_ms + 30'000}}})
                            .dump();
    auto c = factory.for_business(fmt::format("bench{}", b), pc);
    if (!c) {
      fmt::print(stderr, "{}\n", c.error().to_string());
      return 1;
    }
    chains.push_back(*c);
  }
  std::vector<llm::AgentConfig> configs;
  for (const auto& d : defaults) {
    storage::AgentConfig sc;
    sc.name = d.name;
    sc.kind = storage::AgentKind::kLlm;
    sc.prompt_template = d.prompt_template;
    sc.output_schema_json = d.output_schema;
    configs.push_back(agents.to_agent(sc));
  }
  std::vector<analytics::TranscriptSegment> segs;
  for (int i = 0; i < 50; ++i) {
    segs.push_back({i % 2 ? analytics::Role::kCustomer : analytics::Role::kAgent, i * 6000, i * 6000 + 5000,
                    i % 2 ? "My internet has been slow since Monday, it is the third time I call."
                          : "I am sorry to hear that, let me check your line and fix it for you."});
  }
  storage::CallRecord call;
  call.duration_ms = 300'000;

  std::mutex mu;
  std::condition_variable cv;
  int left = calls, ok = 0, failed = 0;
  std::vector<double> lat;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    call.id = i + 1;  // distinct prompts
    const auto input = pipeline::agent_input(segs, call, json::object(), "{}");
    agents.run_async(*chains[static_cast<std::size_t>(i % businesses)], configs, input,
                     [&](std::vector<llm::AgentResult> results) {
                       std::lock_guard lock(mu);
                       for (const auto& r : results) {
                         (r.ok ? ok : failed) += 1;
                         lat.push_back(static_cast<double>(r.latency.count()));
                       }
                       if (--left == 0) cv.notify_all();
                     });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return left == 0; });
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  client.shutdown();
  fake.stop();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[static_cast<std::size_t>(p * static_cast<double>(lat.size() - 1))];
  };
  fmt::print(
      "LLM agents against a fake provider at {} ms latency: {} calls x {} agents = {} requests, {} businesses, "
      "one process, {} connections per host:\n",
      latency_ms, calls, configs.size(), requests, businesses, per_host);
  fmt::print(
      "  in flight peak {} requests; {:.1f} requests/s; agent latency p50 {:.0f} ms, p99 {:.0f} ms; {} ok, {} failed; "
      "wall {:.2f} s\n",
      fake.max_concurrent(), requests / secs, pct(0.5), pct(0.99), ok, failed, secs);
  return failed == 0 ? 0 : 1;
}

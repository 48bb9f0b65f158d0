#include "earshot/llm/agent.hpp"

#include <fmt/format.h>

#include <deque>
#include <utility>

#include "earshot/http/sigv4.hpp"
#include "earshot/llm/json_schema.hpp"

namespace earshot::llm {

// --- rendering ----------------------------------------------------------------------------

namespace {

std::string stamp(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

std::string render_line(const TranscriptLine& l) {
  if (l.start_ms < 0) return fmt::format("{}: {}\n", l.speaker, l.text);
  return fmt::format("[{}] {}: {}\n", stamp(l.start_ms), l.speaker, l.text);
}

}  // namespace

std::string render_transcript(const std::vector<TranscriptLine>& lines) {
  std::string out;
  for (const auto& l : lines) out += render_line(l);
  return out;
}

int estimate_tokens(std::string_view text) {
  return static_cast<int>((text.size() + 3) / 4);
}

TrimmedTranscript trim_transcript(const std::vector<TranscriptLine>& lines, int budget_tokens) {
  TrimmedTranscript out;
  out.text = render_transcript(lines);
  if (estimate_tokens(out.text) <= budget_tokens) return out;
  std::vector<std::string> rendered;
  rendered.reserve(lines.size());
  for (const auto& l : lines) rendered.push_back(render_line(l));
  // Room for the omission note (about 20 tokens).
  int left = budget_tokens - 20;
  std::size_t head = 0;
  std::size_t tail = 0;  // lines kept from the end
  bool from_head = true;
  while (head + tail < lines.size()) {
    const std::size_t i = from_head ? head : lines.size() - 1 - tail;
    const int cost = estimate_tokens(rendered[i]);
    if (cost > left) break;
    left -= cost;
    (from_head ? head : tail) += 1;
    from_head = !from_head;
  }
  out.trimmed = true;
  out.omitted = lines.size() - head - tail;
  std::string text;
  for (std::size_t i = 0; i < head; ++i) text += rendered[i];
  const auto& first = lines[head];
  const auto& last = lines[lines.size() - 1 - tail];
  if (first.start_ms >= 0 && last.start_ms >= 0) {
    text += fmt::format("[... {} segments from {} to {} omitted to fit the token budget ...]\n", out.omitted,
                        stamp(first.start_ms), stamp(last.end_ms >= 0 ? last.end_ms : last.start_ms));
  } else {
    text += fmt::format("[... {} segments omitted to fit the token budget ...]\n", out.omitted);
  }
  for (std::size_t i = lines.size() - tail; i < lines.size(); ++i) text += rendered[i];
  out.text = std::move(text);
  return out;
}

std::string render_template(const std::string& tmpl, const std::map<std::string, std::string>& vars) {
  std::string out;
  std::size_t pos = 0;
  while (pos < tmpl.size()) {
    const auto open = tmpl.find("{{", pos);
    if (open == std::string::npos) break;
    const auto close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) break;
    std::string name = tmpl.substr(open + 2, close - open - 2);
    const auto b = name.find_first_not_of(' ');
    const auto e = name.find_last_not_of(' ');
    name = b == std::string::npos ? "" : name.substr(b, e - b + 1);
    out.append(tmpl, pos, open - pos);
    if (auto it = vars.find(name); it != vars.end()) {
      out += it->second;
    } else {
      out.append(tmpl, open, close + 2 - open);
    }
    pos = close + 2;
  }
  out.append(tmpl, pos, std::string::npos);
  return out;
}

// --- runner -------------------------------------------------------------------------------

namespace {

struct Rendered {
  ChatRequest request;
  bool trimmed = false;
};

Rendered render(const AgentConfig& agent, const AgentInput& input) {
  Rendered r;
  auto t = trim_transcript(input.transcript, agent.transcript_token_budget);
  r.trimmed = t.trimmed;
  const std::map<std::string, std::string> vars{
      {"transcript", t.text}, {"metadata", input.metadata}, {"metrics", input.metrics}, {"lead", input.lead}};
  r.request.system = agent.system;
  r.request.messages = {{"user", render_template(agent.prompt_template, vars)}};
  r.request.json_schema = agent.output_schema;
  r.request.max_tokens = agent.max_tokens;
  r.request.temperature = agent.temperature;
  return r;
}

std::string key_of(const std::string& provider, const AgentConfig& agent, const ChatRequest& req) {
  // Length-prefixed fields, so no two different inputs concatenate to the same text.
  std::string material;
  for (const std::string* part :
       {&provider, &agent.name, &agent.prompt_version, &req.system, &req.messages.front().content, &req.json_schema}) {
    material += fmt::format("{}:{}\n", part->size(), *part);
  }
  return http::sha256_hex(material);
}

struct Run : std::enable_shared_from_this<Run> {
  std::vector<ChatProvider*> chain;
  ResultCache* cache = nullptr;
  const Clock* clock = nullptr;
  std::string schema;
  std::string key;
  ChatRequest request;
  std::size_t provider = 0;
  std::chrono::steady_clock::time_point started;
  AgentResult result;
  std::function<void(AgentResult)> done;

  void finish() {
    result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(clock->steady_now() - started);
    auto cb = std::move(done);
    cb(std::move(result));
  }

  void fail(std::string reason, std::optional<ErrorCode> code = std::nullopt) {
    result.ok = false;
    result.failure_reason = std::move(reason);
    result.failure_code = code;
    finish();
  }

  void ask(ChatRequest req) {
    ++result.provider_calls;
    ChatProvider* p = chain[provider];
    auto on_done = [self = shared_from_this(), sent = req](Result<ChatResponse> r) {
      self->on_answer(sent, std::move(r));
    };
    p->complete(std::move(req), std::move(on_done));
  }

  void on_answer(const ChatRequest& sent, Result<ChatResponse> r) {
    if (!r) {
      const bool can_fall_back = http::is_retryable(r.error().code) && provider + 1 < chain.size() && !result.repaired;
      if (can_fall_back) {
        ++provider;
        ask(request);
        return;
      }
      fail(fmt::format("{}: {}", chain[provider]->id(), r.error().to_string()), r.error().code);
      return;
    }
    result.input_tokens += r->input_tokens;
    result.output_tokens += r->output_tokens;
    result.provider = chain[provider]->id();
    std::string output = extract_json_object(r->text);
    auto valid = validate_json(output, schema);
    if (valid) {
      result.ok = true;
      result.output = std::move(output);
      if (cache != nullptr) cache->put(key, result.output);
      finish();
      return;
    }
    if (result.repaired) {
      fail("output failed schema validation after one repair: " + valid.error().message, ErrorCode::kInvalidArgument);
      return;
    }
    result.repaired = true;
    ChatRequest repair = sent;
    repair.messages.push_back({"assistant", r->text});
    repair.messages.push_back(
        {"user", fmt::format("Your answer does not satisfy the required JSON Schema: {}. Answer again "
                             "with only a JSON object that conforms to the schema.",
                             valid.error().message)});
    ask(std::move(repair));
  }
};

}  // namespace

JsonAgentRunner::JsonAgentRunner(std::vector<ChatProvider*> chain, ResultCache* cache, const Clock& clock)
    : chain_(std::move(chain)), cache_(cache), clock_(&clock) {}

std::string JsonAgentRunner::cache_key(const AgentConfig& agent, const AgentInput& input) const {
  const auto r = render(agent, input);
  return key_of(chain_.empty() ? std::string() : chain_.front()->id(), agent, r.request);
}

void JsonAgentRunner::run(const AgentConfig& agent, const AgentInput& input, std::function<void(AgentResult)> done) {
  auto state = std::make_shared<Run>();
  state->chain = chain_;
  state->cache = cache_;
  state->clock = clock_;
  state->schema = agent.output_schema;
  state->started = clock_->steady_now();
  state->result.agent = agent.name;
  state->done = std::move(done);
  if (chain_.empty()) {
    state->fail("no LLM provider configured", ErrorCode::kFailedPrecondition);
    return;
  }
  auto rendered = render(agent, input);
  state->result.transcript_trimmed = rendered.trimmed;
  state->request = std::move(rendered.request);
  state->key = key_of(chain_.front()->id(), agent, state->request);
  if (cache_ != nullptr) {
    if (auto hit = cache_->get(state->key)) {
      state->result.ok = true;
      state->result.cache_hit = true;
      state->result.output = std::move(*hit);
      state->finish();
      return;
    }
  }
  state->ask(state->request);
}

}  // namespace earshot::llm

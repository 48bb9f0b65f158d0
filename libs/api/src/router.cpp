#include "earshot/api/router.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace earshot::api {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kPlatformAdmin:
      return "platform_admin";
    case Role::kAdmin:
      return "admin";
    case Role::kAnalyst:
      return "analyst";
    case Role::kViewer:
      return "viewer";
  }
  return "viewer";
}

std::optional<Role> role_from_name(std::string_view name) {
  if (name == "platform_admin") return Role::kPlatformAdmin;
  if (name == "admin") return Role::kAdmin;
  if (name == "analyst") return Role::kAnalyst;
  if (name == "viewer") return Role::kViewer;
  return std::nullopt;
}

bool role_at_least(Role have, Role need) {
  return static_cast<int>(have) <= static_cast<int>(need);
}

bool Principal::has_scope(std::string_view s) const {
  return std::find(scopes.begin(), scopes.end(), s) != scopes.end();
}

std::string Principal::subject() const {
  switch (kind) {
    case Kind::kUser:
      return fmt::format("user:{}", id);
    case Kind::kPlatformAdmin:
      return fmt::format("admin:{}", id);
    case Kind::kApiKey:
      return fmt::format("key:{}", id);
    case Kind::kSignedLink:
      return fmt::format("link:{}", id);
  }
  return "unknown";
}

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

std::string Request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::optional<std::string> Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Result<std::int64_t> Request::id_param(const std::string& name) const {
  auto it = path_params.find(name);
  const std::string v = it == path_params.end() ? std::string() : it->second;
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || out <= 0) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} must be a positive integer", name));
  }
  return out;
}

Result<Json> Request::json_body() const {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  }
  return j;
}

const std::string& Request::caller_bid() const {
  static const std::string kEmpty;
  return principal ? principal->bid : kEmpty;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const std::size_t j = path.find('/', i);
    const std::size_t end = j == std::string_view::npos ? path.size() : j;
    if (end > i) out.emplace_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Policy policy, Handler handler) {
  Route r{std::move(method), std::move(pattern), std::move(policy), std::move(handler), {}};
  r.segments = split_path(r.pattern);
  routes_.push_back(std::move(r));
}

Router::Lookup Router::find(const std::string& method, const std::string& path) const {
  Lookup out;
  const auto parts = split_path(path);
  // Literal segments win over parameters: "/calls/reprocess" before "/calls/{id}".
  const Route* best = nullptr;
  int best_literals = -1;
  std::map<std::string, std::string> best_params;
  for (const auto& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    std::map<std::string, std::string> params;
    int literals = 0;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& s = r.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        params[s.substr(1, s.size() - 2)] = parts[i];
      } else if (s == parts[i]) {
        ++literals;
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    if (r.method != method) {
      out.allowed_methods.push_back(r.method);
      continue;
    }
    if (literals > best_literals) {
      best = &r;
      best_literals = literals;
      best_params = std::move(params);
    }
  }
  if (best != nullptr) {
    out.match = Match{best, std::move(best_params)};
  } else {
    out.method_not_allowed = !out.allowed_methods.empty();
  }
  return out;
}

}  // namespace earshot::api

#include "earshot/api/http_request.hpp"

#include <fmt/format.h>

#include <cctype>
#include <utility>

#include "earshot/api/http_parsing.hpp"

namespace earshot::api::http_request {

namespace bhttp = boost::beast::http;

void configure(Parser& parser) {
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);  // checked against Content-Length once the headers are in
}

Rejection head_error(const boost::beast::error_code& ec) {
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return {431, "request headers too large"};
  }
  return {400, "malformed request: " + ec.message()};
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

Head admit_head(Parser& parser, std::uint64_t max_body) {
  const auto& msg = parser.get();
  Head head;
  head.method = std::string(msg.method_string());
  const std::string_view target(msg.target());
  head.path = std::string(target.substr(0, target.find('?')));
  if (auto it = msg.find("X-Request-Id"); it != msg.end() && sane_request_id(it->value())) {
    head.request_id = std::string(it->value());
  }
  if (auto it = msg.find(bhttp::field::origin); it != msg.end()) head.origin = std::string(it->value());
  if (target.size() > kTargetLimit) {
    head.reject = Rejection{414, "request URI too long"};
  } else if (target.empty() || target[0] != '/') {
    head.reject = Rejection{400, "malformed request: the target must be a path"};
  } else if (auto cl = parser.content_length(); cl && *cl > max_body) {
    head.reject = Rejection{413, fmt::format("request body too large (at most {} bytes)", max_body)};
  } else {
    parser.body_limit(max_body);
  }
  return head;
}

Request to_request(Message& msg) {
  Request req;
  const std::string method(msg.method_string());
  req.method = method == "HEAD" ? "GET" : method;
  req.target = std::string(msg.target());
  const std::string_view target(req.target);
  const auto q = target.find('?');
  req.path = http_parsing::percent_decode(target.substr(0, q), false);
  if (q != std::string_view::npos) req.query = http_parsing::parse_query(target.substr(q + 1));
  for (const auto& f : msg) req.headers.emplace(std::string(f.name_string()), std::string(f.value()));
  req.body = std::move(msg.body());
  return req;
}

Result<void> take_form_parts(Request& req) {
  const auto boundary = http_parsing::multipart_boundary(req.header("Content-Type"));
  if (!boundary) return {};
  auto parts = http_parsing::parse_multipart(req.body, *boundary);
  req.body.clear();
  if (!parts) return std::unexpected(parts.error());
  req.parts = std::move(*parts);
  return {};
}

}  // namespace earshot::api::http_request

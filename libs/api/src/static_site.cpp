#include "earshot/api/static_site.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>

namespace earshot::api {

namespace {

std::string content_type_of(std::string_view ext) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const auto it = kTypes.find(ext);
  return std::string(it == kTypes.end() ? std::string_view("application/octet-stream") : it->second);
}

// FNV-1a 64 of the body: changes whenever the file does.
std::string etag_of(std::string_view body) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return fmt::format("\"{:016x}-{:x}\"", h, body.size());
}

}  // namespace

Result<StaticSite> StaticSite::load(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(dir / "index.html", ec)) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("{}: no index.html (the dashboard is not built)", dir.string()));
  }
  StaticSite site;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const auto rel = fs::relative(it->path(), dir, ec);
    if (ec) break;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return make_error(ErrorCode::kUnavailable, fmt::format("{}: cannot be read", it->path().string()));
    }
    File f;
    f.body = std::move(body).str();
    site.bytes_ += f.body.size();
    if (site.bytes_ > kMaxBytes) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("{}: more than {} MiB of files", dir.string(), kMaxBytes >> 20));
    }
    f.content_type = content_type_of(it->path().extension().string());
    f.etag = etag_of(f.body);
    site.files_.emplace("/" + rel.generic_string(), std::move(f));
  }
  if (ec) return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", dir.string(), ec.message()));
  return site;
}

std::optional<Reply> StaticSite::reply(const Request& req) const {
  const std::string& path = req.path;
  if (req.method != "GET" || path.empty() || path.front() != '/' || path.starts_with("/api/") || path == "/api") {
    return std::nullopt;
  }
  if (const auto it = files_.find(path); it != files_.end()) return file_reply(path, it->second, req);
  const auto last = path.substr(path.rfind('/') + 1);
  if (path == "/" || (last.find('.') == std::string::npos && !path.starts_with("/assets/"))) {
    const auto index = files_.find("/index.html");
    if (index != files_.end()) return file_reply("/index.html", index->second, req);
  }
  return std::nullopt;
}

Reply StaticSite::file_reply(const std::string& path, const File& f, const Request& req) const {
  Reply r;
  if (req.header("If-None-Match") == f.etag) {
    r = Reply::text("", f.content_type, 304);
  } else {
    r = Reply::text(f.body, f.content_type);
  }
  r.headers.emplace_back("Cache-Control",
                         path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("ETag", f.etag);
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  return r;
}

}  // namespace earshot::api

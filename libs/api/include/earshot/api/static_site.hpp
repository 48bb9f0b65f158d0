#pragma once
// The dashboard's built files (web/dist), served by the gateway at `/`.
//
// load() reads every regular file under the directory once, at start-up, into memory (a
// built dashboard is a few hundred KB; at most kMaxBytes in all): a request can only ever
// name one of those files, so no path from a request reaches the file system.
//
// reply() answers a GET for a path outside /api/: the file itself; for a path that names no
// file and has no extension (a page of the single-page app, "/calls/42"), index.html; for
// anything else 404. Hashed build outputs under /assets/ are cached for a year (immutable);
// everything else is revalidated (no-cache) by its ETag (If-None-Match -> 304). Every answer
// carries a strict Content-Security-Policy (scripts, styles and connections to this origin
// only, no inline script, no framing).
//
// Thread safety: load() before serving; reply() is const and may run concurrently.

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "earshot/api/router.hpp"
#include "earshot/core/error.hpp"

namespace earshot::api {

class StaticSite {
 public:
  static constexpr std::size_t kMaxBytes = std::size_t{64} << 20;
  static constexpr const char* kContentSecurityPolicy =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
      "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
      "frame-ancestors 'none'; form-action 'self'";

  // kNotFound when `dir` or its index.html is missing; kInvalidArgument when it holds more
  // than kMaxBytes; kUnavailable when a file cannot be read.
  [[nodiscard]] static Result<StaticSite> load(const std::filesystem::path& dir);

  // nullopt: not the site's (paths under /api/ and the listener's own routes never are).
  [[nodiscard]] std::optional<Reply> reply(const Request& req) const;

  [[nodiscard]] std::size_t files() const { return files_.size(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  struct File {
    std::string body;
    std::string content_type;
    std::string etag;
  };
  [[nodiscard]] Reply file_reply(const std::string& path, const File& f, const Request& req) const;

  std::map<std::string, File> files_;  // "/index.html", "/assets/index-3f2a.js", ...
  std::size_t bytes_ = 0;
};

}  // namespace earshot::api

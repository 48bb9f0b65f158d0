#include "earshot/objectstore/audio_store.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace earshot::objectstore {

namespace fs = std::filesystem;
constexpr std::string_view kScheme = "store://";

Status LocalObjectStore::check_key(std::string_view key) {
  if (key.empty() || key.size() > 1024) {
    return make_error(ErrorCode::kInvalidArgument, "object key must be 1-1024 characters");
  }
  if (key.front() == '/') return make_error(ErrorCode::kInvalidArgument, "object key must be relative");
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto slash = key.find('/', start);
    const auto part = key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("object key '{}' has an empty, '.' or '..' segment", key));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-' || c == '/')) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("object key '{}' has a character outside [A-Za-z0-9._/-]", key));
    }
  }
  return {};
}

Result<std::string> LocalObjectStore::path_for_uri(std::string_view uri) const {
  if (!uri.starts_with(kScheme)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("unsupported audio location '{}' (expected store://key)", uri));
  }
  const auto key = uri.substr(kScheme.size());
  if (auto st = check_key(key); !st) return std::unexpected(st.error());
  return fmt::format("{}/{}", root_, key);
}

std::optional<std::string> LocalObjectStore::local_file(std::string_view uri) const {
  auto path = path_for_uri(uri);
  if (!path) return std::nullopt;
  return std::move(*path);
}

Result<std::vector<std::uint8_t>> LocalObjectStore::read(std::string_view uri, std::uint64_t max_bytes) {
  auto path = path_for_uri(uri);
  if (!path) return std::unexpected(path.error());
  std::error_code ec;
  const auto size = fs::file_size(*path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return make_error(ErrorCode::kNotFound, fmt::format("no audio object at {}", uri));
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("audio store: {}: {}", uri, ec.message()));
  }
  if (size > max_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("audio object is {} bytes, above the limit of {} bytes", size, max_bytes));
  }
  std::ifstream in(*path, std::ios::binary);
  std::vector<std::uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) return make_error(ErrorCode::kUnavailable, fmt::format("audio store: cannot read {}", uri));
  return bytes;
}

Result<std::string> LocalObjectStore::write(std::string_view key, std::span<const std::uint8_t> bytes) {
  if (auto st = check_key(key); !st) return std::unexpected(st.error());
  const fs::path path = fs::path(root_) / std::string(key);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return make_error(ErrorCode::kUnavailable, fmt::format("audio store: {}", ec.message()));
  thread_local std::mt19937_64 rng(std::random_device{}());
  const auto tmp = fmt::format("{}.tmp-{:x}", path.string(), rng());
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) return make_error(ErrorCode::kUnavailable, "audio store: write failed");
  }
  fs::rename(tmp, path, ec);
  if (ec) return make_error(ErrorCode::kUnavailable, fmt::format("audio store: {}", ec.message()));
  return fmt::format("{}{}", kScheme, key);
}

Status LocalObjectStore::remove(std::string_view uri) {
  auto path = path_for_uri(uri);
  if (!path) return std::unexpected(path.error());
  std::error_code ec;
  fs::remove(*path, ec);
  if (ec) return make_error(ErrorCode::kUnavailable, fmt::format("audio store: {}", ec.message()));
  return {};
}

Result<ObjectInfo> LocalObjectStore::stat(std::string_view uri) {
  auto path = path_for_uri(uri);
  if (!path) return std::unexpected(path.error());
  std::error_code ec;
  const auto size = fs::file_size(*path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return make_error(ErrorCode::kNotFound, fmt::format("no object at {}", uri));
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("audio store: {}: {}", uri, ec.message()));
  }
  return ObjectInfo{size, {}};
}

Result<std::string> LocalObjectStore::read_range(std::string_view uri, std::uint64_t offset, std::uint64_t length) {
  auto path = path_for_uri(uri);
  if (!path) return std::unexpected(path.error());
  std::ifstream in(*path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(*path, ec)) return make_error(ErrorCode::kNotFound, fmt::format("no object at {}", uri));
    return make_error(ErrorCode::kUnavailable, fmt::format("audio store: cannot open {}", uri));
  }
  if (!in.seekg(static_cast<std::streamoff>(offset))) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("offset {} is past the end of {}", offset, uri));
  }
  std::string out(static_cast<std::size_t>(length), '\0');
  in.read(out.data(), static_cast<std::streamsize>(length));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

Status key_owned_by(std::string_view key, std::string_view bid) {
  auto bad = [&](std::string why) { return make_error(ErrorCode::kInvalidArgument, std::move(why)); };
  if (bid.empty()) return bad("no business to own the recording");
  if (auto st = LocalObjectStore::check_key(key); !st) return std::unexpected(st.error());
  if (!key.starts_with(bid) || key.size() <= bid.size() || key[bid.size()] != '/') {
    return bad(fmt::format("the recording is not under this business's prefix '{}/'", bid));
  }
  return {};
}

Status AudioStore::owned_by(std::string_view /*uri*/, std::string_view /*bid*/) const {
  return make_error(ErrorCode::kInvalidArgument, "this store cannot tell which business owns a recording");
}

Status LocalObjectStore::owned_by(std::string_view uri, std::string_view bid) const {
  if (!uri.starts_with(kScheme)) {
    return make_error(ErrorCode::kInvalidArgument, "the recording is not a store:// location");
  }
  return key_owned_by(uri.substr(kScheme.size()), bid);
}

bool LocalObjectStore::owns(std::string_view uri) const {
  return uri.starts_with(kScheme) && check_key(uri.substr(kScheme.size())).has_value();
}

namespace {

Result<std::vector<std::uint8_t>> audio_from_response(Result<http::HttpResponse> res) {
  if (!res) {
    // A refused address is the caller's configuration, never worth retrying.
    return std::unexpected(res.error().with_context("fetching audio"));
  }
  if (res->status == 404 || res->status == 410) {
    return make_error(ErrorCode::kNotFound, fmt::format("no recording at the audio URL (HTTP {})", res->status));
  }
  if (res->status == 429) return make_error(ErrorCode::kRateLimited, "audio host throttled the download (HTTP 429)");
  if (res->status >= 500)
    return make_error(ErrorCode::kUnavailable, fmt::format("audio host failed (HTTP {})", res->status));
  if (res->status < 200 || res->status >= 300) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("audio URL answered HTTP {}", res->status));
  }
  return std::vector<std::uint8_t>(res->body.begin(), res->body.end());
}

bool is_http_url(std::string_view uri) {
  return uri.starts_with("http://") || uri.starts_with("https://");
}

}  // namespace

http::HttpRequest HttpAudioStore::request_for(std::string_view uri, std::uint64_t max_bytes) const {
  http::HttpRequest req;
  req.url = std::string(uri);
  req.timeout = options_.timeout;
  req.connect_timeout = options_.connect_timeout;
  req.max_response_bytes = max_bytes;
  req.follow_redirects = true;
  req.address_policy = options_.policy;
  return req;
}

Result<std::vector<std::uint8_t>> HttpAudioStore::read(std::string_view uri, std::uint64_t max_bytes) {
  if (!is_http_url(uri)) return fallback_.read(uri, max_bytes);
  return audio_from_response(client_.send_sync(request_for(uri, max_bytes)));
}

Status HttpAudioStore::owned_by(std::string_view uri, std::string_view bid) const {
  if (is_http_url(uri)) return {};
  return fallback_.owned_by(uri, bid);
}

std::optional<std::string> HttpAudioStore::local_file(std::string_view uri) const {
  if (is_http_url(uri)) return std::nullopt;
  return fallback_.local_file(uri);
}

void HttpAudioStore::read_async(std::string_view uri, std::uint64_t max_bytes, ReadCallback done) {
  if (!is_http_url(uri)) {
    fallback_.read_async(uri, max_bytes, std::move(done));
    return;
  }
  client_.send(request_for(uri, max_bytes),
               [done = std::move(done)](Result<http::HttpResponse> r) { done(audio_from_response(std::move(r))); });
}

}  // namespace earshot::objectstore

#pragma once
// Where recordings live. A call's audio location is a URI:
//   store://<key>        the local object store (a directory; keys are relative paths of
//                        [A-Za-z0-9._/-] without "..", so a key can never escape the root)
//   s3://<bucket>/<key>  an S3-compatible store (s3_store.hpp)
// (http/https locations are fetched by the HTTP fetcher, with the address policy.)
// Which store a binary writes to is configured once for all (object_store.hpp).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/http/address_policy.hpp"
#include "earshot/http/http_client.hpp"

namespace earshot::objectstore {

// THE ownership rule of recordings, the one place it is decided. `key` is an object key
// relative to the store's tenant layout (a local store's root; an s3 store's bucket with its
// configured prefix removed), where the ingestor writes `<bid>/ingest/...`. It belongs to
// business `bid` only when it is a safe key (LocalObjectStore::check_key: no empty, '.' or
// '..' segment, so no "//" or traversal; only [A-Za-z0-9._/-], so no percent-encoding) whose
// first segment is exactly `bid` (case-sensitive; "acme" never owns "acme2/..."). Otherwise
// kInvalidArgument saying why. Every store's owned_by maps its URIs to such a key and asks
// this.
[[nodiscard]] Status key_owned_by(std::string_view key, std::string_view bid);

class AudioStore {
 public:
  virtual ~AudioStore() = default;
  // OK when `uri` names a recording business `bid` may read, stream and delete: an object
  // under the business's own prefix (key_owned_by), or, for stores that fetch URLs, an
  // http(s) URL (whose address the fetch checks against its policy). kInvalidArgument with
  // the reason otherwise. The base class knows no layout and refuses everything.
  [[nodiscard]] virtual Status owned_by(std::string_view uri, std::string_view bid) const;
  // kNotFound for a missing object, kInvalidArgument for a malformed or unsupported URI or
  // an object above `max_bytes`, kUnavailable when the store cannot be read right now.
  [[nodiscard]] virtual Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t max_bytes) = 0;
  // The same without holding the calling thread while the bytes travel: `done` runs once,
  // on the calling thread (local reads) or on an HTTP loop thread (URLs; keep it short).
  using ReadCallback = std::function<void(Result<std::vector<std::uint8_t>>)>;
  // NOLINTNEXTLINE(performance-unnecessary-value-param): by value is the interface's contract (overrides keep `done`)
  virtual void read_async(std::string_view uri, std::uint64_t max_bytes, ReadCallback done) {
    done(read(uri, max_bytes));
  }
  // A file on this machine that holds the recording at `uri` as stored (the local store),
  // so that it can be sent on without being held in memory; nullopt when there is none (a
  // URL, S3). The caller has checked `uri` with owned_by.
  [[nodiscard]] virtual std::optional<std::string> local_file(std::string_view /*uri*/) const { return std::nullopt; }
};

struct ObjectInfo {
  std::uint64_t size = 0;
  std::string content_type;  // as stored; may be empty
};

// A store the platform writes recordings to (the ingestor), streams them from (the
// gateway) and deletes them from, besides reading them (the stt worker). Errors as for
// AudioStore; writes and deletes that cannot be done now are kUnavailable (or the store's
// own retryable code: kRateLimited, kTimeout), a refused signature or permission
// kPermissionDenied.
class ObjectStore : public AudioStore {
 public:
  // Writes `bytes` under `key` (relative, [A-Za-z0-9._/-], see check_key) and returns the
  // object's URI.
  [[nodiscard]] virtual Result<std::string> put(std::string_view key, std::span<const std::uint8_t> bytes,
                                                std::string_view content_type) = 0;
  // Removes an object (an absent one is not an error).
  [[nodiscard]] virtual Status remove(std::string_view uri) = 0;
  // Size and type of an object; kNotFound when absent.
  [[nodiscard]] virtual Result<ObjectInfo> stat(std::string_view uri) = 0;
  // Bytes [offset, offset + length) of an object (fewer at its end).
  [[nodiscard]] virtual Result<std::string> read_range(std::string_view uri, std::uint64_t offset,
                                                       std::uint64_t length) = 0;
  // True when `uri` is a well-formed location of this store.
  [[nodiscard]] virtual bool owns(std::string_view uri) const = 0;
};

class LocalObjectStore final : public ObjectStore {
 public:
  explicit LocalObjectStore(std::string root) : root_(std::move(root)) {}
  [[nodiscard]] Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t max_bytes) override;
  // Writes atomically (temp file + rename); returns the store:// URI.
  [[nodiscard]] Result<std::string> write(std::string_view key, std::span<const std::uint8_t> bytes);
  [[nodiscard]] Result<std::string> put(std::string_view key, std::span<const std::uint8_t> bytes,
                                        std::string_view /*content_type*/) override {
    return write(key, bytes);
  }
  [[nodiscard]] Status remove(std::string_view uri) override;
  [[nodiscard]] Result<ObjectInfo> stat(std::string_view uri) override;
  [[nodiscard]] Result<std::string> read_range(std::string_view uri, std::uint64_t offset,
                                               std::uint64_t length) override;
  [[nodiscard]] bool owns(std::string_view uri) const override;
  // store://<bid>/... only (key_owned_by).
  [[nodiscard]] Status owned_by(std::string_view uri, std::string_view bid) const override;
  [[nodiscard]] std::optional<std::string> local_file(std::string_view uri) const override;

  // kInvalidArgument unless `key` is a safe relative key.
  [[nodiscard]] static Status check_key(std::string_view key);

 private:
  [[nodiscard]] Result<std::string> path_for_uri(std::string_view uri) const;
  std::string root_;
};

// Recordings at http(s) URLs (telephony providers' recording links), fetched with a
// deadline and a size cap; the resolved address must pass `policy` (private, loopback,
// link-local and metadata addresses refused unless the config allows them). Other URIs go
// to `fallback` (the local store). HTTP 404/410 -> kNotFound, other 4xx -> kInvalidArgument,
// 5xx / 429 / connection failures / deadline -> retryable codes.
class HttpAudioStore final : public AudioStore {
 public:
  struct Options {
    http::AddressPolicy policy;
    std::chrono::milliseconds timeout{120'000};
    std::chrono::milliseconds connect_timeout{10'000};
  };
  HttpAudioStore(http::HttpClient& client, AudioStore& fallback, Options options)
      : client_(client), fallback_(fallback), options_(std::move(options)) {}
  [[nodiscard]] Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t max_bytes) override;
  void read_async(std::string_view uri, std::uint64_t max_bytes, ReadCallback done) override;
  // http(s) URLs pass (the fetch applies the address policy); anything else is the
  // fallback's to decide.
  [[nodiscard]] Status owned_by(std::string_view uri, std::string_view bid) const override;
  // None for a URL; the fallback's otherwise.
  [[nodiscard]] std::optional<std::string> local_file(std::string_view uri) const override;

 private:
  [[nodiscard]] http::HttpRequest request_for(std::string_view uri, std::uint64_t max_bytes) const;
  http::HttpClient& client_;
  AudioStore& fallback_;
  Options options_;
};

}  // namespace earshot::objectstore

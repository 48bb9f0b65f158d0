#pragma once
// The object store of recordings, configured once for every binary that touches them (the
// gateway writes, streams and deletes; the stt worker reads):
//
//   object_store          local | s3: where new recordings are written
//   object_store_dir      the local store's directory (store:// URIs)
//   s3_endpoint, s3_region, s3_bucket, s3_prefix, s3_access_key_id, s3_secret_access_key
//   (secret), s3_session_token (secret), s3_url_style (path | virtual), s3_timeout,
//   s3_max_attempts
//
// Reads, streams and deletes go by the URI's scheme, so calls stored before a switch from
// local to s3 stay readable: store:// from the directory, s3:// from the bucket (when s3 is
// configured).

#include <memory>
#include <string>

#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/objectstore/s3_store.hpp"

namespace earshot::objectstore {

struct ObjectStoreSettings {
  std::string kind = "local";  // "local" | "s3"
  std::string dir = "./.local/objects";
  std::string url_style = "path";  // "path" | "virtual"
  S3Settings s3;
  std::int64_t max_attempts = 4;  // s3_max_attempts

  void declare(ConfigSpec& spec);
  // The s3 settings are checked when kind is s3.
  [[nodiscard]] Status validate() const;
  // `s3` with the url style and attempts applied.
  [[nodiscard]] S3Settings s3_settings() const;
};

// The local store plus, when configured, the S3 store: writes go to the configured kind,
// everything else to the store that owns the URI.
// A store failure as the clients of a service see it: whatever the store answered (a refused
// signature, throttling, an outage), the service cannot do its part now: kUnavailable,
// "object store unavailable: <the store's reason>" (503 over HTTP).
[[nodiscard]] Error object_store_unavailable(const Error& e);

class ObjectStores final : public ObjectStore {
 public:
  // `client` (needed for s3 only) and `clock` must outlive the result.
  [[nodiscard]] static Result<std::unique_ptr<ObjectStores>> make(const ObjectStoreSettings& settings,
                                                                  http::HttpClient* client, const Clock& clock);

  [[nodiscard]] Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t max_bytes) override;
  void read_async(std::string_view uri, std::uint64_t max_bytes, ReadCallback done) override;
  [[nodiscard]] Result<std::string> put(std::string_view key, std::span<const std::uint8_t> bytes,
                                        std::string_view content_type) override;
  [[nodiscard]] Status remove(std::string_view uri) override;
  [[nodiscard]] Result<ObjectInfo> stat(std::string_view uri) override;
  [[nodiscard]] Result<std::string> read_range(std::string_view uri, std::uint64_t offset,
                                               std::uint64_t length) override;
  [[nodiscard]] bool owns(std::string_view uri) const override;
  // The store that holds `uri` decides (key_owned_by); an s3:// URI without an s3 store, or
  // of another bucket, is refused.
  [[nodiscard]] Status owned_by(std::string_view uri, std::string_view bid) const override;
  // The local store's file for a store:// URI; none for S3.
  [[nodiscard]] std::optional<std::string> local_file(std::string_view uri) const override;

  [[nodiscard]] LocalObjectStore& local() { return *local_; }
  [[nodiscard]] S3ObjectStore* s3() { return s3_.get(); }

 private:
  ObjectStores() = default;
  // The store that owns `uri`, or kInvalidArgument saying why none does.
  [[nodiscard]] Result<ObjectStore*> route(std::string_view uri);

  std::unique_ptr<LocalObjectStore> local_;
  std::unique_ptr<S3ObjectStore> s3_;
  ObjectStore* writer_ = nullptr;
};

}  // namespace earshot::objectstore

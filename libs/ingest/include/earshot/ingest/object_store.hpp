#pragma once
// Where pushed recordings are written. The ingestor writes through this interface; the stt
// worker later reads the returned URI through pipeline::AudioStore.
//
//   LocalObjectWriter  store://<key> in a directory (pipeline::LocalObjectStore), the default
//
// An S3-compatible store plugs in as another ObjectStore returning s3://bucket/key (SigV4
// signing lives in libs/llm); the stt side then needs the matching AudioStore reader.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::ingest {

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Writes `bytes` under `key` (relative, [A-Za-z0-9._/-]) and returns the object's URI.
  // kInvalidArgument for a bad key, kUnavailable when the store cannot be written now.
  [[nodiscard]] virtual Result<std::string> put(std::string_view key,
                                                std::span<const std::uint8_t> bytes,
                                                std::string_view content_type) = 0;
  // Removes an object this store wrote (an absent one is not an error).
  [[nodiscard]] virtual Status remove(std::string_view uri) = 0;
};

// The local filesystem store (store:// URIs under `root`).
class LocalObjectWriter final : public ObjectStore {
 public:
  explicit LocalObjectWriter(std::string root) : root_(std::move(root)) {}
  [[nodiscard]] Result<std::string> put(std::string_view key, std::span<const std::uint8_t> bytes,
                                        std::string_view content_type) override;
  [[nodiscard]] Status remove(std::string_view uri) override;

 private:
  std::string root_;
};

}  // namespace earshot::ingest

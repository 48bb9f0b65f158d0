#pragma once
// Where recordings live. A call's audio location is a URI:
//   store://<key>   the local object store (a directory; keys are relative paths of
//                   [A-Za-z0-9._/-] without "..", so a key can never escape the root)
// (http/https locations are fetched by the HTTP fetcher, with the address policy.)

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::pipeline {

class AudioStore {
 public:
  virtual ~AudioStore() = default;
  // kNotFound for a missing object, kInvalidArgument for a malformed or unsupported URI or
  // an object above `max_bytes`, kUnavailable when the store cannot be read right now.
  [[nodiscard]] virtual Result<std::vector<std::uint8_t>> read(std::string_view uri,
                                                               std::uint64_t max_bytes) = 0;
};

class LocalObjectStore final : public AudioStore {
 public:
  explicit LocalObjectStore(std::string root) : root_(std::move(root)) {}
  [[nodiscard]] Result<std::vector<std::uint8_t>> read(std::string_view uri,
                                                       std::uint64_t max_bytes) override;
  // Writes atomically (temp file + rename); returns the store:// URI.
  [[nodiscard]] Result<std::string> write(std::string_view key, std::span<const std::uint8_t> bytes);
  [[nodiscard]] Status remove(std::string_view uri);

  // kInvalidArgument unless `key` is a safe relative key.
  [[nodiscard]] static Status check_key(std::string_view key);

 private:
  [[nodiscard]] Result<std::string> path_for_uri(std::string_view uri) const;
  std::string root_;
};

}  // namespace earshot::pipeline

#include "earshot/ingest/object_store.hpp"

#include "earshot/pipeline/audio_store.hpp"

namespace earshot::ingest {

Result<std::string> LocalObjectWriter::put(std::string_view key, std::span<const std::uint8_t> bytes,
                                           std::string_view /*content_type*/) {
  pipeline::LocalObjectStore store(root_);
  return store.write(key, bytes);
}

Status LocalObjectWriter::remove(std::string_view uri) {
  pipeline::LocalObjectStore store(root_);
  return store.remove(uri);
}

}  // namespace earshot::ingest

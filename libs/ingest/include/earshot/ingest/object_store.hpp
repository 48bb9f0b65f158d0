#pragma once
// Where pushed recordings are written: the configured object store of recordings
// (pipeline::ObjectStores from EARSHOT_OBJECT_STORE: the local directory, store:// URIs, or
// an S3-compatible store, s3://bucket/key), which the stt worker reads through the same
// configuration.

#include "earshot/pipeline/audio_store.hpp"

namespace earshot::ingest {

using ObjectStore = pipeline::ObjectStore;

}  // namespace earshot::ingest

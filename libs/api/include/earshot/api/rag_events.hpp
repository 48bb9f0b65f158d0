#pragma once
// Keeps the gateway's search shards current from a business's live events (docs/rag.md):
//   call.status  with status "analyzed"  -> the call's rows are re-read (new or reprocessed)
//   call.status  with any other status   -> nothing (the rows change only when analyzed)
//   call.reindexed                       -> the call's rows are re-read (the embed worker
//                                           re-embedded it for a new embedder: the new
//                                           model's shard gains it, the old one's loses it)
//   call.deleted                         -> the call leaves every shard of the business
//   calls.purged (data.call_ids)         -> each of them leaves (retention, one per batch)
//   knowledge.status with status "ready" -> the document's rows are re-read
//   knowledge.status (other) / knowledge.deleted -> the document leaves the shards
// Only shards already loaded are touched (IndexRegistry); a shard loaded later reads the
// database. Returns false for an event it could not apply (a refresh that failed: the
// caller logs it), true otherwise, including events it ignores.

#include <string>

#include "earshot/cache/live_events.hpp"

namespace earshot::rag {
class IndexRegistry;
}

namespace earshot::api {

bool apply_index_event(rag::IndexRegistry& index, const std::string& bid, const cache::LiveEvent& event);

}  // namespace earshot::api

#pragma once
// Private helpers of libs/sync.
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <unordered_map>

#include "earshot/queue/message.hpp"
#include "earshot/sync/sync.hpp"

namespace earshot::sync::detail {

// Sleeps through SyncDeps::sleep (or the thread); false when the caller should stop.
bool pause(const SyncDeps& d, std::chrono::milliseconds ms);

// A call after upsert_calls: its id, state and whether this upsert created it.
struct UpsertedCall {
  storage::Id id = 0;
  std::string status;
  std::string audio_uri;
  std::string language;
  bool created = false;
};
// Upserts the calls in one transaction (CallRepository::upsert_batch) and reads back, by
// external id, the state of each in one index read (CallRepository::sync_states); `created`
// is told by sync_count (1 on insert, +1 per later upsert).
[[nodiscard]] Result<std::unordered_map<std::string, UpsertedCall>> upsert_calls(
    SyncDeps& d, const storage::TenantId& t, std::span<const storage::CallInput> calls);

// The business's pipeline config; nullopt, with `rep` marked not configured, when it has none.
[[nodiscard]] Result<std::optional<storage::PipelineConfig>> load_config(SyncDeps& d, const storage::TenantId& t,
                                                                         SyncReport& rep);

[[nodiscard]] queue::OutgoingMessage transcribe_message(const queue::TopologySettings& topo, const std::string& bid,
                                                        storage::Id call_id, const std::string& audio_uri,
                                                        const std::string& language);
[[nodiscard]] queue::OutgoingMessage analyze_message(const queue::TopologySettings& topo, const std::string& bid,
                                                     storage::Id call_id);

}  // namespace earshot::sync::detail

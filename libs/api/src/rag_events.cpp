#include "earshot/api/rag_events.hpp"

#include <nlohmann/json.hpp>

#include "earshot/core/log.hpp"
#include "earshot/rag/registry.hpp"

namespace earshot::api {

namespace {

// data.<field> as a positive id, or 0.
std::int64_t id_field(const nlohmann::json& data, const char* field) {
  if (!data.is_object()) return 0;
  auto it = data.find(field);
  if (it == data.end() || !it->is_number_integer()) return 0;
  const auto id = it->get<std::int64_t>();
  return id > 0 ? id : 0;
}

std::string status_field(const nlohmann::json& data) {
  if (!data.is_object()) return {};
  auto it = data.find("status");
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

bool apply_index_event(rag::IndexRegistry& index, const std::string& bid, const cache::LiveEvent& event) {
  if (event.type != "call.status" && event.type != "call.reindexed" && event.type != "call.deleted" &&
      event.type != "calls.purged" && event.type != "knowledge.status" && event.type != "knowledge.deleted") {
    return true;
  }
  const auto parsed = nlohmann::json::parse(event.json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return true;
  const auto data = parsed.value("data", nlohmann::json::object());
  Status st;
  if (event.type == "call.status") {
    const auto call_id = id_field(data, "call_id");
    if (call_id == 0 || status_field(data) != "analyzed") return true;
    st = index.refresh_call(bid, call_id);
  } else if (event.type == "call.reindexed") {
    const auto call_id = id_field(data, "call_id");
    if (call_id == 0) return true;
    st = index.refresh_call(bid, call_id);
  } else if (event.type == "call.deleted") {
    const auto call_id = id_field(data, "call_id");
    if (call_id != 0) index.forget_call(bid, call_id);
  } else if (event.type == "calls.purged") {
    // Retention (the sync worker's lifecycle sweep): one event per deleted batch.
    const auto ids = data.is_object() ? data.value("call_ids", nlohmann::json::array()) : nlohmann::json::array();
    if (ids.is_array()) {
      for (const auto& id : ids) {
        if (id.is_number_integer() && id.get<std::int64_t>() > 0) index.forget_call(bid, id.get<std::int64_t>());
      }
    }
  } else {
    const auto document_id = id_field(data, "document_id");
    if (document_id == 0) return true;
    if (event.type == "knowledge.status" && status_field(data) == "ready") {
      st = index.refresh_document(bid, document_id);
    } else {
      index.forget_document(bid, document_id);
    }
  }
  if (!st) {
    log::warn("search index not updated", {{"bid", bid}, {"event", event.type}, {"error", st.error().message}});
    return false;
  }
  return true;
}

}  // namespace earshot::api

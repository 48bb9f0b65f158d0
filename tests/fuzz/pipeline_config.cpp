// A business's pipeline configuration as the admin API stores it and the workers read it:
// the same text as every JSON field (source database, column mapping, CRM, speech options,
// LLM chain) and as the embedding provider, through each parser that reads one, plus the
// speech provider's own configuration and the notify settings.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "earshot/llm/providers.hpp"
#include "earshot/notify/channels.hpp"
#include "earshot/notify/settings.hpp"
#include "earshot/storage/config_repositories.hpp"
#include "earshot/stt/provider_config.hpp"
#include "earshot/stt/vocabulary.hpp"
#include "earshot/sync/sync_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  earshot::storage::PipelineConfig c;
  c.source_db_json = text;
  c.column_mapping_json = text;
  c.crm_json = text;
  c.stt_options_json = text;
  c.llm_chain_json = text;
  c.embedding_provider = text;
  c.secrets = {{"source_db_password", "pw"}, {"crm_access_key", "ak"}, {"crm_secret_key", "sk"}};
  (void)earshot::sync::parse_source_db(c);
  (void)earshot::sync::parse_feeds(c);
  (void)earshot::sync::parse_crm(c);
  (void)earshot::notify::leadsquared_config(c);

  if (auto cfg = earshot::stt::parse_provider_config(text)) (void)cfg->describe();
  (void)earshot::stt::parse_local_stt_options(text);
  if (auto chain = earshot::llm::parse_llm_chain(text)) {
    for (const auto& spec : *chain) (void)earshot::llm::provider_fingerprint(spec, c.secrets);
  }
  (void)earshot::llm::parse_embedding_provider(text);

  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    if (auto s = earshot::notify::BusinessNotifySettings::from_json(j)) (void)s->to_json().dump();
  }
  return 0;
}

#include "earshot/pipeline/provider_errors.hpp"

namespace earshot::pipeline {

http::RequestObserver provider_error_observer(cache::ProviderErrorRecorder* errors, std::string bid, std::string kind,
                                              std::string provider) {
  if (errors == nullptr) return {};
  return [errors, bid = std::move(bid), kind = std::move(kind),
          provider = std::move(provider)](const http::RequestOutcome& o) {
    if (cache::is_provider_failure(o.status)) errors->record(bid, kind, provider, o.status, o.message);
  };
}

}  // namespace earshot::pipeline

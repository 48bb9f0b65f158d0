#pragma once
// The pipeline's hook into the per-business provider error record (earshot/cache/
// provider_errors.hpp): an http::RequestObserver for a business's requests to one provider.

#include <string>

#include "earshot/cache/provider_errors.hpp"
#include "earshot/http/retry.hpp"

namespace earshot::pipeline {

// Records each failed attempt (no response, or HTTP >= 400) of `bid`'s requests to
// `provider` as `kind` ("stt", "llm", "embedding", "crm") in `errors`, with the attempt's
// reason as message. Empty (no observer) when `errors` is null.
[[nodiscard]] http::RequestObserver provider_error_observer(cache::ProviderErrorRecorder* errors, std::string bid,
                                                            std::string kind, std::string provider);

}  // namespace earshot::pipeline

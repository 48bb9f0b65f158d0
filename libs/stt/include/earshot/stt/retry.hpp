#pragma once
// The provider retry policy lives in libs/http (earshot/http/retry.hpp), shared by the speech
// and language providers; these names keep the stt spelling working.

#include "earshot/http/retry.hpp"

namespace earshot::stt {

using http::ErrorClassifier;
using http::error_for_status;
using http::is_retryable;
using http::RequestObserver;
using http::RequestOutcome;
using http::RetryContext;
using http::RetryPolicy;
using http::send_with_retry;

}  // namespace earshot::stt

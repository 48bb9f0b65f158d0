#pragma once
#include <span>

namespace earshot::cli {
// `earshot ask`: logs in to a running gateway and asks the chat one question (POST
// /api/v1/chat), printing the answer and its citations.
int ask(std::span<char*> args);
}  // namespace earshot::cli

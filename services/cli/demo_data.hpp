#pragma once
#include <span>

namespace earshot::cli {
// `earshot demo-data`: synthesises demo calls and uploads them through the upload API.
int demo_data(std::span<char*> args);
}  // namespace earshot::cli

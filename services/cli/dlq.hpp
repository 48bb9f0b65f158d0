#pragma once
#include <span>

namespace earshot::cli {
// `earshot dlq list|show|replay|purge --stage S --bid B [--limit N]`.
int dlq(std::span<char*> args);
}  // namespace earshot::cli

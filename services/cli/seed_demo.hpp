#pragma once
#include <span>

namespace earshot::cli {
// `earshot seed-demo`: registers a demo business and sends it synthetic calls.
int seed_demo(std::span<char*> args);
}  // namespace earshot::cli

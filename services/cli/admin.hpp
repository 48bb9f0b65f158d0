#pragma once
#include <span>

namespace earshot::cli {

// earshot admin create --email E [--password-file PATH] | list | disable --email E | enable --email E
int admin(std::span<char*> args);

}  // namespace earshot::cli

#pragma once
#include <span>

namespace earshot::cli {

// earshot business create --bid B --name N [--admin-email E --admin-password P]
int business(std::span<char*> args);

}  // namespace earshot::cli

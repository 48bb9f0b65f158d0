#pragma once
// Registers the binary-wide migrated database (include in exactly one source per binary).
#include "storage_fixture.hpp"

namespace earshot::testing {
inline ::testing::Environment* const kStorageEnvironment = ::testing::AddGlobalTestEnvironment(new StorageEnvironment);
}  // namespace earshot::testing

#pragma once
// What every repository interface shares: row ids, TenantId, Timestamp, Result, and the
// contract below. The interfaces are grouped by domain (repositories.hpp includes them all);
// implementations: mysql_repositories.hpp; in-memory fakes: tests/fakes/storage/.
//
// Tenant scoping: every method that touches tenant-owned rows takes a TenantId, and the
// implementation matches every row on (bid, ...). A row of another business behaves
// exactly like a missing row (kNotFound / false / empty), never like an error that would
// reveal it exists. JSON-valued fields are JSON text; the database validates them
// (kInvalidArgument when malformed).
//
// Errors: kNotFound (no such row for this tenant), kAlreadyExists (unique key collision),
// kInvalidArgument (bad value), kUnavailable (database down, or deadlock / lock wait
// timeout still failing after bounded retries), kFailedPrecondition (schema not migrated).
// Methods returning Result<bool> report whether a guarded change happened.

#include <cstdint>

#include "earshot/core/error.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::storage {

using Id = std::int64_t;

}  // namespace earshot::storage

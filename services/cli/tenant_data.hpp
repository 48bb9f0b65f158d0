#pragma once
#include <span>

namespace earshot::cli {

// earshot business export --bid B --out DIR: every row of the business as JSON lines (one
// file per table), its recordings and a manifest; restartable (finished files are kept).
int tenant_export(std::span<char*> args);

// earshot business erase --bid B [--confirm CODE]: without --confirm, reports what the
// business holds and the code; with it, deletes recordings, rows, queues and Redis keys.
// Idempotent: a second run removes nothing and says so.
int tenant_erase(std::span<char*> args);

}  // namespace earshot::cli

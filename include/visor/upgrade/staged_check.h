// The last check before a staged version runs: its binary is hashed again and compared with the
// SHA-256 recorded when it was staged, so that a file changed in the store since is never
// switched to. The hashing reads the whole binary: it runs on the worker, never on the
// supervisor's io_context.
#pragma once

#include <functional>
#include <string>

#include "visor/common/result.h"
#include "visor/common/worker.h"
#include "visor/store/binary_store.h"

namespace visor {

/// Hashes upgrades/<version> on `worker`, then on the main thread compares it with the recorded
/// SHA-256 (BinaryStore::check_hash) and calls `done` with the outcome. A mismatch or a read
/// error sets the version aside first (BinaryStore::quarantine: fetched again, never marked
/// failed, since the version is not to blame for what happened to its file); the failure then
/// says so in one line ("not switching to VERSION: CAUSE; it is set aside and fetched again").
/// When the record itself changed while the binary was hashed (`visor add-upgrade --force`
/// replaced both), the binary is hashed again instead.
void check_staged_in_background(Worker& worker, BinaryStore& store, const std::string& version,
                                std::function<void(const Status&)> done);

}  // namespace visor

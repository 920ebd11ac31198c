#include "visor/upgrade/staged_check.h"

#include <utility>

#include "visor/common/log.h"

namespace visor {

void check_staged_in_background(Worker& worker, BinaryStore& store, const std::string& version,
                                std::function<void(const Status&)> done) {
  // What state.json records as the hashing begins: `visor add-upgrade --force` may swap the
  // binary and its record while it is hashed, and a hash of the binary it replaced is then no
  // reason to set the new one aside.
  store.refresh();
  const std::string recorded = store.recorded_hash(version);
  const BinaryStore& reader = store;
  worker.run([&reader, version] { return reader.hash_binary(version); },
             [&worker, &store, version, recorded,
              done = std::move(done)](const Result<std::string>& hashed) mutable {
               Status checked = store.check_hash(version, hashed);
               if (checked) return done(checked);
               if (store.recorded_hash(version) != recorded) {
                 log::info("hash_check_again",
                           "the SHA-256 recorded for " + version +
                               " changed while its binary was hashed (visor add-upgrade " +
                               "--force); hashing it again",
                           {{"version", version}});
                 return check_staged_in_background(worker, store, version, std::move(done));
               }
               Status aside = store.quarantine(version);
               if (!aside) log::error("quarantine_failed", aside.error());
               done(Status::failure("not switching to " + version + ": " + checked.error() +
                                    "; it is set aside and fetched again"));
             });
}

}  // namespace visor

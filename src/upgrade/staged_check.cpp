#include "visor/upgrade/staged_check.h"

#include <utility>

#include "visor/common/log.h"

namespace visor {

void check_staged_in_background(Worker& worker, BinaryStore& store, const std::string& version,
                                std::function<void(const Status&)> done) {
  const BinaryStore& reader = store;
  worker.run([&reader, version] { return reader.hash_binary(version); },
             [&store, version, done = std::move(done)](const Result<std::string>& hashed) {
               Status checked = store.check_hash(version, hashed);
               if (checked) return done(checked);
               Status aside = store.quarantine(version);
               if (!aside) log::error("quarantine_failed", aside.error());
               done(Status::failure("not switching to " + version + ": " + checked.error() +
                                    "; it is set aside and fetched again"));
             });
}

}  // namespace visor

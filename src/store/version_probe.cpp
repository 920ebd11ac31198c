#include "visor/store/version_probe.h"

#include "visor/common/command_line.h"
#include "visor/process/captured_run.h"

namespace visor {

Result<SemVer> probe_version(const std::string& binary,
                             const std::vector<std::string>& version_args, Duration timeout) {
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), version_args.begin(), version_args.end());
  const std::string described = join_command_line(argv);
  auto run = run_captured(argv, timeout);
  if (!run) return Result<SemVer>::failure("version probe " + run.error());
  if (run->timed_out) {
    return Result<SemVer>::failure("version probe " + described + ": timed out after " +
                                   std::to_string(timeout.count()) + "ms");
  }
  auto version = SemVer::find_in(run->output);
  if (!version) {
    std::string excerpt = run->output.substr(0, 120);
    for (auto& c : excerpt) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return Result<SemVer>::failure(
        "version probe " + described + ": printed no version" +
        (run->status ? " (" + run->status->describe() + ")" : std::string()) +
        (excerpt.empty() ? "" : ": '" + excerpt + "'"));
  }
  return *version;
}

}  // namespace visor

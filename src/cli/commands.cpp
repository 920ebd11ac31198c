#include "visor/cli/commands.h"

#include <iostream>

#include "visor/cli/cli.h"

namespace visor {

int run_check(const Options& options) {
  std::cout << "configuration is valid (home " << options.home << ")\n";
  return kExitOk;
}

int run_init(const std::string&, const std::string&) {
  std::cerr << "visor: init is not implemented yet\n";
  return kExitFailure;
}

int run_add_upgrade(const std::string&, const std::string&, const std::string&, const std::string&,
                    const std::string&) {
  std::cerr << "visor: add-upgrade is not implemented yet\n";
  return kExitFailure;
}

int run_status(const std::string&, bool) {
  std::cerr << "visor: status is not implemented yet\n";
  return kExitFailure;
}

}  // namespace visor

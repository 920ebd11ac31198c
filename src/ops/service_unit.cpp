#include <iostream>

#include "visor/cli/cli.h"
#include "visor/cli/commands.h"

namespace visor {

int run_create_service(const ServiceRequest&) {
  std::cerr << "visor: create-service is not implemented yet\n";
  return kExitFailure;
}

}  // namespace visor

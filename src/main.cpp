// visor: supervises one blockchain node and upgrades its binary when the network says so.
#include <signal.h>

#include <cstdio>
#include <exception>

#include "visor/cli/cli.h"
#include "visor/common/log.h"

namespace {

// The last resort: one line on stderr, then exit 1 instead of std::terminate's abort.
int report_escaped(const char* what) {
  try {
    visor::log::error("internal_error", std::string("visor stops on an unexpected error: ") + what);
  } catch (...) {
    std::fputs("visor: internal error\n", stderr);
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // First of all, before any line is written: a stdout or stderr pipe whose reader is gone
  // (`visor ... | logger` after logger died) must give EPIPE, not kill visor by SIGPIPE. Every
  // child gets the default disposition back before exec (ProcessTable::spawn).
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return visor::run_cli(argc, argv);
  } catch (const std::exception& error) {
    return report_escaped(error.what());
  } catch (...) {
    return report_escaped("an exception of unknown type");
  }
}

// visor: supervises one blockchain node and upgrades its binary when the network says so.
#include "visor/cli/cli.h"

int main(int argc, char** argv) { return visor::run_cli(argc, argv); }

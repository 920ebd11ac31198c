// `visor init --from-cosmovisor DIR` and `visor init --from-vega-visor DIR`: import the home of
// the tool visor replaces, so that one command moves an operator over. Every binary of the old
// tree is probed and installed in visor's store under the version it reports; Cosmovisor's plan
// names are mapped to those versions; the old tree's current binary becomes visor's `current`;
// and <home>/config.json is written so that `visor wrap` runs the node as before.
#pragma once

#include <ostream>
#include <string>

namespace visor {

/// Imports a Cosmovisor home: `DIR/cosmovisor/genesis/bin/<daemon>`,
/// `DIR/cosmovisor/upgrades/<plan>/bin/<daemon>` and the `DIR/cosmovisor/current` symlink.
/// `daemon_name` picks the binary (Cosmovisor's DAEMON_NAME); empty: the one file in
/// genesis/bin. Writes config.json with profile cosmos and DIR/data/upgrade-info.json. Reports
/// on `out`; returns an exit code (2: the tree is not a Cosmovisor home, 1: a binary failed).
int import_cosmovisor(const std::string& home, const std::string& directory,
                      const std::string& daemon_name, std::ostream& out);

/// Imports a Vega Visor home: `DIR/config.toml` (upgradeFolders, restart and stop settings),
/// `DIR/<folder>/run-config.toml` of every folder ([vega.binary] path and args, [vega.rpc]
/// socketPath and httpPath, [data_node.binary]) and the `DIR/current` symlink. Writes
/// config.json with profile vega: the core's command and admin socket, and a service set
/// (`children`: core, datanode) when the current run-config has a data node.
int import_vega_visor(const std::string& home, const std::string& directory, std::ostream& out);

}  // namespace visor

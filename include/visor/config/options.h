// Every setting of `visor wrap`, typed, with their defaults (docs/configuration.md).
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "visor/common/clock.h"
#include "visor/common/log.h"

namespace visor {

enum class SourceKind { none, lava, vega, cosmos };
enum class RestartPolicy { on_failure, always, never };
enum class UpgradeAt { target, min };
enum class LavaRole { provider, consumer };
/// How the children of a service set restart (`--group`).
enum class GroupPolicy { independent, together };

/// One child of a service set: `--child NAME=COMMAND`, an entry of `"children"` in the config
/// file, or the single child `--cmd` makes. The three per-child settings fall back to the set's.
struct ChildSpec {
  std::string name;                  ///< matches [a-z0-9][a-z0-9-]*, unique in the set
  std::string cmd;                   ///< the command line as given
  std::vector<std::string> command;  ///< cmd split into words; command[0] names the binary
  std::optional<std::vector<std::string>> upgrade_args;  ///< nullopt: the set's --upgrade-args
  std::string stdin_file;                                ///< empty: the set's --stdin-file
  std::string ready_pattern;                             ///< empty: the set's --ready-pattern
};

/// The resolved configuration of one `visor wrap` (or `visor check`) run.
struct Options {
  std::string cmd;                   ///< the first child's command line as given
  std::vector<std::string> command;  ///< the first child's words; command[0] names the binary
  /// The children in start order; `--cmd` makes a set of one. Never empty after a valid load
  /// that required a command.
  std::vector<ChildSpec> children;
  GroupPolicy group = GroupPolicy::independent;
  std::string home;
  std::string config_file;  ///< the file that was read, empty when none
  std::string profile;

  SourceKind source = SourceKind::none;
  Duration poll_interval{1000};
  std::string lava_rest;
  LavaRole lava_role = LavaRole::provider;
  UpgradeAt upgrade_at = UpgradeAt::target;
  std::string vega_admin_socket;
  std::string vega_admin_path = "/rpc";
  std::string upgrade_info;
  std::string node;            ///< CometBFT RPC base URL (--node), e.g. "http://127.0.0.1:26657"
  std::string chain_id;        ///< with `node`: the chain the node must serve (--chain-id)
  bool plan_downloads = true;  ///< may a binary listed in a Cosmos plan's `info` be downloaded

  std::string download_url;
  std::string checksum_url;
  bool insecure_skip_checksum = false;
  bool allow_http = false;
  std::string ca_bundle;
  std::uint64_t max_artifact_size = 2ULL << 30;  ///< 2 GiB, also caps unpacked size
  Duration download_timeout{30 * 60 * 1000};
  Duration request_timeout{10000};

  std::vector<std::string> version_args{"version"};
  int stop_signal = SIGTERM;
  Duration stop_timeout{30000};
  RestartPolicy restart = RestartPolicy::on_failure;
  Duration backoff_initial{1000};
  Duration backoff_max{60000};
  int max_restarts = 10;
  Duration restart_window{10 * 60 * 1000};
  Duration healthy_after{10000};
  std::string ready_pattern;
  std::vector<std::string> upgrade_args;
  std::string pre_upgrade;
  std::string post_upgrade;
  std::string link;
  std::string stdin_file;
  std::string health_listen;
  log::Format log_format = log::Format::text;
  log::Level log_level = log::Level::info;
};

/// The name of the binary the child runs (the last path component of command[0]).
std::string binary_name(const Options& options);
/// The name of the binary a child runs (the last path component of its command[0]).
std::string binary_name(const ChildSpec& child);
/// The distinct binary names of the set, in list order (several children may share one).
std::vector<std::string> binary_names(const Options& options);

/// Whether `name` is a valid child name: [a-z0-9][a-z0-9-]*.
bool valid_child_name(const std::string& name);
/// The name `--cmd` gives its one child: the binary's name lower-cased, every character outside
/// [a-z0-9-] turned into `-`, leading dashes dropped ("child" when nothing is left).
std::string child_name_for_binary(const std::string& binary);

/// Whether a child is a Vega data node: its command is `vega datanode ...`.
bool is_vega_datanode(const ChildSpec& child);
/// The arguments child `index` gets on its first start after an upgrade: its own upgrade-args,
/// else the set's; with profile vega a data node without its own gets none, because the set's
/// default `--snapshot.load-from-block-height {height}` is a flag of the core only.
std::vector<std::string> upgrade_args_for(const Options& options, std::size_t index);
/// The --ready-pattern child `index` must print: its own, else the set's (empty: none).
const std::string& ready_pattern_for(const Options& options, std::size_t index);
/// The --stdin-file child `index` reads: its own, else the set's (empty: none).
const std::string& stdin_file_for(const Options& options, std::size_t index);

/// Parses a signal name ("TERM", "SIGTERM", "term") or number; nullopt when unknown.
std::optional<int> parse_signal(const std::string& text);
/// The short name of a signal, e.g. "TERM"; the number as text when it has no name here.
std::string signal_name(int signal_number);

const char* to_string(SourceKind kind);
const char* to_string(RestartPolicy policy);
const char* to_string(GroupPolicy policy);

}  // namespace visor

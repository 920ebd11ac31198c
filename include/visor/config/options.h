// Every setting of `visor wrap`, typed, with their defaults (docs/configuration.md).
#pragma once

#include <csignal>
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

/// The resolved configuration of one `visor wrap` (or `visor check`) run.
struct Options {
  std::string cmd;                   ///< the --cmd text as given
  std::vector<std::string> command;  ///< --cmd split into words; command[0] names the binary
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

/// Parses a signal name ("TERM", "SIGTERM", "term") or number; nullopt when unknown.
std::optional<int> parse_signal(const std::string& text);
/// The short name of a signal, e.g. "TERM"; the number as text when it has no name here.
std::string signal_name(int signal_number);

const char* to_string(SourceKind kind);
const char* to_string(RestartPolicy policy);

}  // namespace visor

// The sd_notify(3) datagram protocol, written here rather than linked from libsystemd.
//
// Why by hand: the protocol is a documented, stable interface (sd_notify(3), "Notification
// socket": one AF_UNIX datagram of newline-separated KEY=VALUE lines to $NOTIFY_SOCKET, a path
// or an abstract name starting with '@'), and it is all visor needs from libsystemd. Linking
// libsystemd.so.0 loaded it plus libgcrypt, libgpg-error, liblz4 and libcap into every visor,
// 0.8 MiB of resident memory for about forty lines (measured in docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "visor/common/result.h"

namespace visor {

/// Sends `message` as one datagram to $NOTIFY_SOCKET, as sd_notify(0, message) does: nothing
/// is sent (and the result is ok) when the variable is unset or empty.
Status notify_socket_send(const std::string& message);

/// Sends `message` as one datagram to the notification socket at `address` (a path, or '@'
/// followed by an abstract socket name).
Status notify_socket_send_to(const std::string& address, const std::string& message);

/// The watchdog timeout systemd asks this process to honour, as sd_watchdog_enabled(3) reads
/// it: WATCHDOG_USEC when set and WATCHDOG_PID is unset or names `pid`. nullopt when the
/// watchdog is off; a failure when a variable is malformed.
Result<std::optional<std::uint64_t>> watchdog_usec_from(const char* watchdog_usec,
                                                        const char* watchdog_pid, long pid);

}  // namespace visor

#include "visor/ops/notify_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace visor {
namespace {

// A decimal number that fills the whole text, without sign or spaces.
std::optional<std::uint64_t> parse_unsigned(const char* text) {
  if (text == nullptr || *text < '0' || *text > '9') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

}  // namespace

Status notify_socket_send_to(const std::string& address, const std::string& message) {
  if (address.size() < 2 || (address[0] != '/' && address[0] != '@')) {
    return Status::failure("NOTIFY_SOCKET \"" + address +
                           "\" is neither a path nor an abstract socket");
  }
  sockaddr_un peer{};
  peer.sun_family = AF_UNIX;
  if (address.size() > sizeof(peer.sun_path)) {
    return Status::failure("NOTIFY_SOCKET \"" + address +
                           "\" is longer than a unix socket address");
  }
  std::memcpy(peer.sun_path, address.data(), address.size());
  if (address[0] == '@') peer.sun_path[0] = '\0';  // the abstract namespace
  // A path address counts its terminating zero when there is room for one (a path of exactly
  // sizeof(sun_path) bytes goes without, as Linux allows); an abstract one is as long as its name.
  const socklen_t length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                             (address[0] == '/' && address.size() < sizeof(peer.sun_path)));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::failure("socket(AF_UNIX): " + errno_text(errno));
  ssize_t sent;
  do {
    sent = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&peer), length);
  } while (sent < 0 && errno == EINTR);
  const int send_error = errno;
  ::close(fd);
  if (sent < 0) return Status::failure("sendto " + address + ": " + errno_text(send_error));
  if (static_cast<std::size_t>(sent) != message.size()) {
    return Status::failure("sendto " + address + ": short datagram");
  }
  return {};
}

Status notify_socket_send(const std::string& message) {
  const char* address = std::getenv("NOTIFY_SOCKET");
  if (address == nullptr || *address == '\0') return {};
  return notify_socket_send_to(address, message);
}

Result<std::optional<std::uint64_t>> watchdog_usec_from(const char* watchdog_usec,
                                                        const char* watchdog_pid, long pid) {
  if (watchdog_usec == nullptr || *watchdog_usec == '\0') return std::optional<std::uint64_t>();
  const auto usec = parse_unsigned(watchdog_usec);
  if (!usec)
    return Result<std::optional<std::uint64_t>>::failure(
        "WATCHDOG_USEC=" + std::string(watchdog_usec) + " is not a number of microseconds");
  if (watchdog_pid != nullptr && *watchdog_pid != '\0') {
    const auto owner = parse_unsigned(watchdog_pid);
    if (!owner) {
      return Result<std::optional<std::uint64_t>>::failure(
          "WATCHDOG_PID=" + std::string(watchdog_pid) + " is not a process id");
    }
    if (*owner != static_cast<std::uint64_t>(pid))
      return std::optional<std::uint64_t>();  // meant for another
  }
  // 0 and USEC_INFINITY (all bits set) mean no watchdog, as sd_watchdog_enabled(3) treats them.
  if (*usec == 0 || *usec == UINT64_MAX) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(*usec);
}

}  // namespace visor

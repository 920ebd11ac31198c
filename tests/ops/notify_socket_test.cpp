#include "visor/ops/notify_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace visor {
namespace {

// A real datagram socket standing in for systemd's notification socket.
class Listener {
 public:
  explicit Listener(const std::string& address) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un local{};
    local.sun_family = AF_UNIX;
    std::memcpy(local.sun_path, address.data(), address.size());
    if (address[0] == '@') local.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&local), length) == 0;
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  bool bound() const { return bound_; }
  std::string receive() const {
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n < 0 ? std::string("<nothing: ") + std::strerror(errno) + ">" : std::string(buffer, n);
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

std::string temporary_path(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp") + "/" + name + "-" + std::to_string(::getpid());
}

TEST(NotifySocket, SendsOneDatagramToAPathSocket) {
  const std::string path = temporary_path("visor-notify");
  ::unlink(path.c_str());
  Listener listener(path);
  ASSERT_TRUE(listener.bound());
  const Status sent = notify_socket_send_to(path, "READY=1\nSTATUS=running lavap 5.2.1");
  ASSERT_TRUE(sent) << sent.error();
  EXPECT_EQ(listener.receive(), "READY=1\nSTATUS=running lavap 5.2.1");
  ::unlink(path.c_str());
}

TEST(NotifySocket, SendsToAnAbstractSocket) {
  const std::string name = "@visor-notify-test-" + std::to_string(::getpid());
  Listener listener(name);
  ASSERT_TRUE(listener.bound());
  ASSERT_TRUE(notify_socket_send_to(name, "WATCHDOG=1"));
  EXPECT_EQ(listener.receive(), "WATCHDOG=1");
}

TEST(NotifySocket, ReadsTheAddressFromTheEnvironmentAndIsANoOpWithoutIt) {
  const std::string path = temporary_path("visor-notify-env");
  ::unlink(path.c_str());
  Listener listener(path);
  ASSERT_TRUE(listener.bound());
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(notify_socket_send("STOPPING=1"));
  EXPECT_EQ(listener.receive(), "STOPPING=1");
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(notify_socket_send("STOPPING=1"));  // nothing to send to: not an error
  ::unlink(path.c_str());
}

TEST(NotifySocket, BadAddressesAreClearErrors) {
  const Status relative = notify_socket_send_to("run/notify", "READY=1");
  ASSERT_FALSE(relative);
  EXPECT_NE(relative.error().find("neither a path nor an abstract socket"), std::string::npos)
      << relative.error();
  const Status too_long = notify_socket_send_to("/" + std::string(200, 'x'), "READY=1");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().find("longer than"), std::string::npos) << too_long.error();
  const Status nobody = notify_socket_send_to(temporary_path("visor-notify-nobody"), "READY=1");
  ASSERT_FALSE(nobody);
  EXPECT_NE(nobody.error().find("No such file or directory"), std::string::npos) << nobody.error();
}

TEST(WatchdogUsec, FollowsSdWatchdogEnabled) {
  EXPECT_EQ(*watchdog_usec_from(nullptr, nullptr, 42), std::nullopt);
  EXPECT_EQ(*watchdog_usec_from("", nullptr, 42), std::nullopt);
  EXPECT_EQ(*watchdog_usec_from("0", nullptr, 42), std::nullopt);
  EXPECT_EQ(*watchdog_usec_from("30000000", nullptr, 42), 30000000u);
  EXPECT_EQ(*watchdog_usec_from("30000000", "42", 42), 30000000u);
  EXPECT_EQ(*watchdog_usec_from("30000000", "43", 42), std::nullopt) << "meant for another process";
  EXPECT_EQ(*watchdog_usec_from("18446744073709551615", nullptr, 42), std::nullopt)
      << "USEC_INFINITY";
  EXPECT_FALSE(watchdog_usec_from("30s", nullptr, 42));
  EXPECT_FALSE(watchdog_usec_from("-5", nullptr, 42));
  EXPECT_FALSE(watchdog_usec_from("99999999999999999999999", nullptr, 42));
  EXPECT_FALSE(watchdog_usec_from("1000", "forty-two", 42));
}

}  // namespace
}  // namespace visor

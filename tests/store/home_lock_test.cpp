#include "visor/store/home_lock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace visor {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class HomeLocks : public ::testing::Test {
 protected:
  HomeLocks() {
    char pattern[] = "/tmp/visor-lock-XXXXXX";
    home_ = mkdtemp(pattern);
  }
  ~HomeLocks() override { fs::remove_all(home_); }
  std::string lock_path() const { return home_ + "/state.lock"; }

  std::string home_;
};

TEST_F(HomeLocks, OneHolderAtATimeAndTheWaiterGetsItOnRelease) {
  auto first = StateLock::acquire(home_);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_TRUE(fs::is_regular_file(lock_path()));
  const auto before = std::chrono::steady_clock::now();
  auto refused = StateLock::acquire(home_, 100ms);
  ASSERT_FALSE(refused.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - before, 100ms);
  EXPECT_NE(refused.error().find("being written by another process"), std::string::npos)
      << refused.error();
  // A holder that lets go within the patience: the waiter gets it.
  std::thread release([held = std::move(first).value()]() mutable {
    std::this_thread::sleep_for(50ms);
    StateLock gone = std::move(held);
  });
  auto second = StateLock::acquire(home_, 5000ms);
  release.join();
  EXPECT_TRUE(second.ok()) << second.error();
}

// Like state.json: a lock file that is not a regular file is an error naming it, never a hang
// and never a file opened somewhere else.
TEST_F(HomeLocks, ALockFileThatIsNotARegularFileIsAnError) {
  ASSERT_EQ(mkfifo(lock_path().c_str(), 0644), 0);
  auto fifo = StateLock::acquire(home_, 100ms);
  ASSERT_FALSE(fifo.ok());
  EXPECT_NE(fifo.error().find("not a regular file (a FIFO)"), std::string::npos) << fifo.error();
  fs::remove(lock_path());

  const std::string elsewhere = home_ + "/elsewhere";
  std::ofstream(elsewhere) << "keep\n";
  fs::create_symlink(elsewhere, lock_path());
  auto link = StateLock::acquire(home_, 100ms);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().find("symbolic link"), std::string::npos) << link.error();
  fs::remove(lock_path());
  fs::create_symlink(home_ + "/missing", lock_path());  // dangling: never created through it
  EXPECT_FALSE(StateLock::acquire(home_, 100ms).ok());
  EXPECT_FALSE(fs::exists(home_ + "/missing"));
  fs::remove(lock_path());

  fs::create_directory(lock_path());
  auto folder = StateLock::acquire(home_, 100ms);
  ASSERT_FALSE(folder.ok());
  EXPECT_NE(folder.error().find("state.lock"), std::string::npos) << folder.error();
}

// visor.lock is truncated and written with the pid: a symbolic link put in its place must never
// lead visor to a file elsewhere.
TEST_F(HomeLocks, AHomeLockThatIsASymbolicLinkIsRefusedAndItsTargetUntouched) {
  const std::string elsewhere = home_ + "/precious";
  std::ofstream(elsewhere) << "keep me\n";
  fs::create_symlink(elsewhere, home_ + "/visor.lock");
  auto lock = HomeLock::acquire(home_);
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().find("symbolic link"), std::string::npos) << lock.error();
  std::ifstream kept(elsewhere);
  std::string line;
  std::getline(kept, line);
  EXPECT_EQ(line, "keep me");
  EXPECT_FALSE(HomeLock::holder(home_).has_value());
  fs::remove(home_ + "/visor.lock");
  auto regular = HomeLock::acquire(home_);
  ASSERT_TRUE(regular.ok()) << regular.error();
  EXPECT_EQ(HomeLock::holder(home_), ::getpid());
}

}  // namespace
}  // namespace visor

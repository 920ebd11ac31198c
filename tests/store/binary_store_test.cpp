#include "visor/store/binary_store.h"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "visor/store/version_probe.h"

namespace visor {
namespace {

namespace fs = std::filesystem;

class BinaryStoreTest : public ::testing::Test {
 protected:
  BinaryStoreTest() {
    char pattern[] = "/tmp/visor-store-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~BinaryStoreTest() override { fs::remove_all(root_); }

  std::string make_binary(const std::string& version) {
    const std::string path = root_ + "/lavap-" + version;
    std::ofstream(path) << "#!/bin/sh\necho " << version << "\n";
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  std::string root_;
};

TEST_F(BinaryStoreTest, InstallSwitchAndRollBack) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  EXPECT_FALSE(store.current_version().has_value());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  ASSERT_TRUE(store.install_copy("5.3.0", make_binary("5.3.0")).ok());
  EXPECT_EQ(store.versions(), (std::vector<std::string>{"5.2.1", "5.3.0"}));
  ASSERT_TRUE(store.switch_to("5.2.1").ok());
  EXPECT_EQ(fs::read_symlink(root_ + "/home/current"), "upgrades/5.2.1");
  ASSERT_TRUE(store.switch_to("5.3.0").ok());
  EXPECT_EQ(store.current_version(), "5.3.0");
  EXPECT_EQ(store.state().previous, "5.2.1");
  EXPECT_EQ(store.state().staged, std::vector<std::string>{"5.2.1"});
  auto probed = probe_version(store.current_binary(), {"version"});
  ASSERT_TRUE(probed.ok()) << probed.error();
  EXPECT_EQ(probed->str(), "5.3.0");

  ASSERT_TRUE(store.roll_back("5.3.0", "5.2.1", "exited with exit code 1").ok());
  EXPECT_EQ(store.current_version(), "5.2.1");
  EXPECT_EQ(store.state().failed.at("5.3.0"), "exited with exit code 1");

  // What was saved is what a fresh store reads.
  BinaryStore again(root_ + "/home", "lavap");
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(again.state().current, "5.2.1");
  EXPECT_EQ(again.state().failed.count("5.3.0"), 1u);
}

TEST_F(BinaryStoreTest, NeverOverwritesAVersion) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  const auto before = fs::last_write_time(store.binary_path("5.2.1"));
  auto again = store.install_copy("5.2.1", make_binary("5.2.1"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("never overwrites"), std::string::npos);
  EXPECT_EQ(fs::last_write_time(store.binary_path("5.2.1")), before);
}

TEST_F(BinaryStoreTest, SwitchingToAMissingVersionFailsAndKeepsCurrent) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  ASSERT_TRUE(store.switch_to("5.2.1").ok());
  EXPECT_FALSE(store.switch_to("9.9.9").ok());
  EXPECT_EQ(store.current_version(), "5.2.1");
}

TEST_F(BinaryStoreTest, CleanTmpKeepsPartialDownloadsOnly) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  std::ofstream(store.tmp_dir() + "/5.3.0-lavap.part") << "partial";
  fs::create_directories(store.tmp_dir() + "/stage-5.3.0-42");
  std::ofstream(store.tmp_dir() + "/stage-5.3.0-42/lavap") << "half";
  fs::create_symlink("upgrades/5.3.0", root_ + "/home/current.tmp-42");
  const auto removed = store.clean_tmp();
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(fs::exists(store.tmp_dir() + "/5.3.0-lavap.part"));
  EXPECT_FALSE(fs::exists(store.tmp_dir() + "/stage-5.3.0-42"));
  EXPECT_FALSE(fs::is_symlink(root_ + "/home/current.tmp-42"));
}

TEST_F(BinaryStoreTest, ACurrentLinkToAnIncompleteFolderIsNoVersion) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  fs::create_directories(root_ + "/home/upgrades/5.3.0");  // no binary inside
  fs::create_symlink("upgrades/5.3.0", root_ + "/home/current");
  EXPECT_FALSE(store.current_version().has_value());
}

TEST_F(BinaryStoreTest, AVersionOfSeveralBinariesAppearsOnlyOnceEveryOneWasAdded) {
  BinaryStore store(root_ + "/home", std::vector<std::string>{"vega", "data-node"});
  ASSERT_TRUE(store.open().ok());
  auto first = store.add_partial("0.80.0", "vega", make_binary("vega"));
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first.value(), std::vector<std::string>{"data-node"});
  EXPECT_FALSE(store.has_version("0.80.0"));
  auto second = store.add_partial("0.80.0", "data-node", make_binary("data-node"));
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_TRUE(second.value().empty());
  EXPECT_TRUE(store.has_version("0.80.0"));
  EXPECT_TRUE(fs::is_regular_file(root_ + "/home/upgrades/0.80.0/vega"));
  EXPECT_TRUE(fs::is_regular_file(root_ + "/home/upgrades/0.80.0/data-node"));
}

TEST_F(BinaryStoreTest, APlantedLinkForThePartialFolderIsRefusedAndNothingIsWrittenThroughIt) {
  BinaryStore store(root_ + "/home", std::vector<std::string>{"vega", "data-node"});
  ASSERT_TRUE(store.open().ok());
  fs::create_directories(root_ + "/elsewhere");
  fs::create_directory_symlink(root_ + "/elsewhere", root_ + "/home/partial");
  auto added = store.add_partial("0.80.0", "vega", make_binary("vega"));
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().find("symlink"), std::string::npos) << added.error();
  EXPECT_TRUE(fs::is_empty(root_ + "/elsewhere"));

  fs::remove(root_ + "/home/partial");
  fs::create_directories(root_ + "/home/partial");
  fs::create_directory_symlink(root_ + "/elsewhere", root_ + "/home/partial/0.80.0");
  added = store.add_partial("0.80.0", "vega", make_binary("vega"));
  ASSERT_FALSE(added.ok());
  EXPECT_TRUE(fs::is_empty(root_ + "/elsewhere"));
}

TEST_F(BinaryStoreTest, ACopyLeftByAnInterruptedAddIsReplacedNotInTheWay) {
  BinaryStore store(root_ + "/home", std::vector<std::string>{"vega", "data-node"});
  ASSERT_TRUE(store.open().ok());
  fs::create_directories(root_ + "/home/partial/0.80.0");
  std::ofstream(root_ + "/home/partial/0.80.0/.vega.copy") << "half a bin";
  auto added = store.add_partial("0.80.0", "vega", make_binary("vega"));
  ASSERT_TRUE(added.ok()) << added.error();
  EXPECT_EQ(added.value(), std::vector<std::string>{"data-node"});
  EXPECT_FALSE(fs::exists(root_ + "/home/partial/0.80.0/.vega.copy"));
}

TEST_F(BinaryStoreTest, AHomeWhoseTmpOrUpgradesIsALinkIsRefusedAtOpen) {
  fs::create_directories(root_ + "/elsewhere");
  for (const std::string folder : {"tmp", "upgrades"}) {
    fs::remove_all(root_ + "/home");
    fs::create_directories(root_ + "/home");
    fs::create_directory_symlink(root_ + "/elsewhere", root_ + "/home/" + folder);
    BinaryStore store(root_ + "/home", "lavap");
    const Status opened = store.open();
    ASSERT_FALSE(opened.ok()) << folder;
    EXPECT_NE(opened.error().find(folder), std::string::npos) << opened.error();
  }
  // The home itself may be a link (a home moved to a bigger disk).
  fs::remove_all(root_ + "/home");
  fs::create_directory_symlink(root_ + "/elsewhere", root_ + "/home");
  BinaryStore linked(root_ + "/home", "lavap");
  EXPECT_TRUE(linked.open().ok());
}

TEST(VersionProbe, ReadsTheFirstVersionOfTheOutput) {
  auto version = probe_version(VISOR_TEST_CHILD, {"version", "--version", "v0.79.0"});
  ASSERT_TRUE(version.ok()) << version.error();
  EXPECT_EQ(version->str(), "0.79.0");
}

TEST(VersionProbe, ABinaryWithoutAVersionIsAClearError) {
  auto version = probe_version("/bin/echo", {"no", "version", "here"});
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().find("printed no version"), std::string::npos) << version.error();
}

TEST(VersionProbe, AHangingBinaryIsKilledAfterTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  auto version = probe_version("/bin/sleep", {"30"}, Duration(300));
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().find("timed out"), std::string::npos) << version.error();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(VersionProbe, AMissingBinaryIsAClearError) {
  auto version = probe_version("/nonexistent/lavap", {"version"});
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().find("/nonexistent/lavap"), std::string::npos);
}

TEST_F(BinaryStoreTest, ReplaceCopySwapsAStagedVersionButNeverTheCurrent) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("5.2.1", make_binary("5.2.1")).ok());
  ASSERT_TRUE(store.switch_to("5.2.1").ok());
  EXPECT_EQ(store.current_binary_name(), "lavap");
  ASSERT_TRUE(store.install_copy("5.3.0", make_binary("5.3.0")).ok());

  const std::string rebuilt = root_ + "/rebuilt";
  std::ofstream(rebuilt) << "#!/bin/sh\necho 5.3.0 rebuilt\n";
  fs::permissions(rebuilt, fs::perms::owner_all);
  ASSERT_TRUE(store.replace_copy("5.3.0", rebuilt).ok());
  std::ifstream replaced(store.binary_path("5.3.0"));
  std::string text((std::istreambuf_iterator<char>(replaced)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("rebuilt"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(store.tmp_dir()));  // the old copy is gone

  const Status refused = store.replace_copy("5.2.1", rebuilt);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("is current"), std::string::npos) << refused.error();
  auto probed = probe_version(store.current_binary(), {"version"});
  ASSERT_TRUE(probed.ok());
  EXPECT_EQ(probed->str(), "5.2.1");
}

// Opens of state.json in `home`, counted by inotify on the folder (every write is a new file
// renamed in, so the folder is watched, not the file).
class StateOpens {
 public:
  explicit StateOpens(const std::string& home) : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ >= 0) watch_ = inotify_add_watch(fd_, home.c_str(), IN_OPEN);
  }
  ~StateOpens() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0 && watch_ >= 0; }
  // The opens of state.json since the last call.
  int take() {
    int opens = 0;
    alignas(inotify_event) char buffer[4096];
    ssize_t length;
    while ((length = read(fd_, buffer, sizeof buffer)) > 0) {
      for (ssize_t at = 0; at < length;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->len > 0 && std::string(event->name) == "state.json") ++opens;
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    return opens;
  }

 private:
  int fd_;
  int watch_ = -1;
};

// The source polls every second and asks for due height switches each time: state.json, which
// `visor add-upgrade` writes while visor runs, is read once per change, not once per poll.
TEST_F(BinaryStoreTest, StateJsonIsReadAgainOnlyWhenItChanged) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  StoreState written;  // as add-upgrade --height writes it
  written.height_switches = {{105, "5.3.0"}};
  ASSERT_TRUE(save_state(store.state_path(), written).ok());
  StateOpens opens(root_ + "/home");
  ASSERT_TRUE(opens.ok());
  EXPECT_FALSE(store.take_due_height_switch(100).has_value());
  EXPECT_EQ(opens.take(), 1);
  for (int poll = 0; poll < 5; ++poll) EXPECT_FALSE(store.take_due_height_switch(100));
  EXPECT_EQ(store.scheduled_heights(), std::vector<std::uint64_t>{105});
  store.refresh();
  EXPECT_EQ(opens.take(), 0);
  // Another write: read once more, and what it added is seen.
  written.height_switches[110] = "5.4.0";
  written.plans["gov-upgrade-2"] = "5.3.0";
  ASSERT_TRUE(save_state(store.state_path(), written).ok());
  opens.take();  // the write's own open
  EXPECT_EQ(store.scheduled_heights(), (std::vector<std::uint64_t>{105, 110}));
  EXPECT_EQ(store.plan_version("gov-upgrade-2"), "5.3.0");
  EXPECT_FALSE(store.take_due_height_switch(100));
  EXPECT_EQ(opens.take(), 1);
  // A switch taken is saved: it is not merged back from a copy read before.
  ASSERT_TRUE(store.take_due_height_switch(105).has_value());
  EXPECT_EQ(store.scheduled_heights(), std::vector<std::uint64_t>{110});
}

// The daemon's store and `visor add-upgrade`'s on one home, saving in turns, each without having
// read what the other wrote just before: nothing either wrote is lost, and a height switch the
// daemon carried out is not brought back by a writer that read it before.
TEST_F(BinaryStoreTest, TwoStoresSavingInTurnsLoseNothingOfEachOther) {
  const std::string home = root_ + "/home";
  BinaryStore daemon(home, "lavap");
  ASSERT_TRUE(daemon.open().ok());
  ASSERT_TRUE(daemon.install_copy("1.0.0", make_binary("1.0.0")).ok());
  ASSERT_TRUE(daemon.switch_to("1.0.0").ok());
  BinaryStore add_upgrade(home, "lavap");
  ASSERT_TRUE(add_upgrade.open().ok());
  ASSERT_TRUE(add_upgrade.install_copy("2.0.0", make_binary("2.0.0")).ok());

  const PendingUpgrade pending{"3.0.0", "1.0.0", std::nullopt, "", PendingStage::downloading,
                               "",      ""};
  ASSERT_TRUE(daemon.set_pending(pending).ok());
  ASSERT_TRUE(add_upgrade.map_plan("gov-2", "2.0.0").ok());  // read before the daemon's save
  ASSERT_TRUE(daemon.mark_plan_done({"gov-1", 90}).ok());    // read before add-upgrade's save
  ASSERT_TRUE(add_upgrade.schedule_at_height(105, "2.0.0").ok());
  ASSERT_TRUE(daemon.mark_failed("0.9.0", "exited with exit code 1").ok());

  auto on_disk = load_state(daemon.state_path());
  ASSERT_TRUE(on_disk.ok()) << on_disk.error();
  EXPECT_EQ(on_disk->current, "1.0.0");
  EXPECT_EQ(on_disk->pending, pending);
  EXPECT_EQ(on_disk->done_plans, (std::vector<DonePlan>{{"gov-1", 90}}));
  EXPECT_EQ(on_disk->failed.count("0.9.0"), 1u);
  EXPECT_EQ(on_disk->plans.at("gov-2"), "2.0.0");
  EXPECT_EQ(on_disk->height_switches, (std::map<std::uint64_t, std::string>{{105, "2.0.0"}}));
  EXPECT_EQ(on_disk->sha256.at("2.0.0"), add_upgrade.recorded_hash("2.0.0"));
  EXPECT_EQ(on_disk->sha256.at("1.0.0"), daemon.recorded_hash("1.0.0"));
  EXPECT_EQ(on_disk->staged, std::vector<std::string>{"2.0.0"});
  // Each store took over what the other wrote.
  EXPECT_EQ(daemon.plan_version("gov-2"), "2.0.0");
  EXPECT_EQ(daemon.scheduled_heights(), std::vector<std::uint64_t>{105});
  EXPECT_EQ(add_upgrade.pending(), pending);
  EXPECT_TRUE(add_upgrade.plan_done({"gov-1", 90}));

  // A second add-upgrade reads the switch at 105; the daemon carries it out; the late writer
  // adds one at 120 and must not bring 105 back.
  BinaryStore late(home, "lavap");
  ASSERT_TRUE(late.open().ok());
  const auto taken = daemon.take_due_height_switch(110);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->first, 105u);
  ASSERT_TRUE(late.schedule_at_height(120, "2.0.0").ok());
  EXPECT_EQ(daemon.scheduled_heights(), std::vector<std::uint64_t>{120});
  EXPECT_FALSE(daemon.take_due_height_switch(110).has_value());
  ASSERT_TRUE(daemon.set_pending(std::nullopt).ok());
  on_disk = load_state(daemon.state_path());
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(on_disk->height_switches, (std::map<std::uint64_t, std::string>{{120, "2.0.0"}}));
  EXPECT_FALSE(on_disk->pending.has_value());
  EXPECT_EQ(on_disk->plans.at("gov-2"), "2.0.0");
}

// Cosmovisor keeps plan "V2-Upgrade" in upgrades/v2-upgrade: a mapping imported from its tree
// is found under the chain's spelling; an exact mapping still wins.
TEST_F(BinaryStoreTest, APlanMappingDifferingOnlyInCaseIsFound) {
  BinaryStore store(root_ + "/home", "gaiad");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.map_plan("v2-upgrade", "2.0.0").ok());
  EXPECT_EQ(store.plan_version("V2-Upgrade"), "2.0.0");
  EXPECT_EQ(store.plan_version("v2-upgrade"), "2.0.0");
  EXPECT_FALSE(store.plan_version("v2-upgrade-b").has_value());
  ASSERT_TRUE(store.map_plan("V3", "3.0.1").ok());
  ASSERT_TRUE(store.map_plan("v3", "3.0.0").ok());
  EXPECT_EQ(store.plan_version("V3"), "3.0.1");
  EXPECT_EQ(store.plan_version("v3"), "3.0.0");
  // A third spelling: the lower-cased one (Cosmovisor's folder) is taken, whatever sorts first.
  ASSERT_TRUE(store.map_plan("Up-5", "5.0.1").ok());
  ASSERT_TRUE(store.map_plan("up-5", "5.0.0").ok());
  EXPECT_EQ(store.plan_version("UP-5"), "5.0.0");
  ASSERT_TRUE(store.map_plan("Gov-4", "4.0.0").ok());
  ASSERT_TRUE(store.map_plan("GOV-4", "4.0.1").ok());
  EXPECT_FALSE(store.plan_version("gov-4").has_value()) << "two spellings, two versions: none";
  EXPECT_EQ(store.plan_version("Gov-4"), "4.0.0");
}

// A state.json removed while visor runs does not make it forget what it knows: the next save
// writes it all again.
TEST_F(BinaryStoreTest, AStateFileRemovedUnderARunningStoreIsWrittenAgainWhole) {
  BinaryStore store(root_ + "/home", "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("1.0.0", make_binary("1.0.0")).ok());
  ASSERT_TRUE(store.switch_to("1.0.0").ok());
  ASSERT_TRUE(store.map_plan("gov-1", "1.0.0").ok());
  fs::remove(store.state_path());
  store.refresh();
  ASSERT_TRUE(store.mark_failed("0.9.0", "crashed").ok());
  auto on_disk = load_state(store.state_path());
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(on_disk->current, "1.0.0");
  EXPECT_EQ(on_disk->plans.at("gov-1"), "1.0.0");
  EXPECT_FALSE(on_disk->sha256.at("1.0.0").empty());
}

}  // namespace
}  // namespace visor

// The store's integrity verbs: recorded hashes, the start-up check of `current` and its repair,
// the quarantine of a binary that no longer matches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "visor/common/sha256.h"
#include "visor/store/binary_store.h"

namespace visor {
namespace {

namespace fs = std::filesystem;

class StoreIntegrity : public ::testing::Test {
 protected:
  StoreIntegrity() {
    char pattern[] = "/tmp/visor-integrity-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~StoreIntegrity() override { fs::remove_all(root_); }

  std::string make_binary(const std::string& version) {
    const std::string path = root_ + "/lavap-" + version;
    std::ofstream(path) << "#!/bin/sh\necho " << version << "\n";
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }
  // A home with 1.0.0 and 2.0.0 installed, current 2.0.0, previous 1.0.0.
  void two_versions(BinaryStore& store) {
    ASSERT_TRUE(store.open().ok());
    ASSERT_TRUE(store.install_copy("1.0.0", make_binary("1.0.0")).ok());
    ASSERT_TRUE(store.install_copy("2.0.0", make_binary("2.0.0")).ok());
    ASSERT_TRUE(store.switch_to("1.0.0").ok());
    ASSERT_TRUE(store.switch_to("2.0.0").ok());
  }
  void tamper(const std::string& path) { std::ofstream(path, std::ios::app) << "# changed\n"; }
  std::string home() const { return root_ + "/home"; }
  void link_current(const std::string& target) {
    fs::remove_all(home() + "/current");
    fs::create_directory_symlink(target, home() + "/current");
  }

  std::string root_;
};

TEST_F(StoreIntegrity, InstallRecordsTheHashOfTheCopyAndSaveKeepsIt) {
  BinaryStore store(home(), "lavap");
  two_versions(store);
  // Compared with an independent hash of the original file (the copy must be identical).
  EXPECT_EQ(store.recorded_hash("1.0.0"), sha256_file(make_binary("1.0.0")).value());
  BinaryStore again(home(), "lavap");
  ASSERT_TRUE(again.open().ok());
  EXPECT_EQ(again.recorded_hash("2.0.0"), store.recorded_hash("2.0.0"));
  EXPECT_TRUE(again.verify("2.0.0").ok());
  EXPECT_TRUE(again.check_current().ok());
}

TEST_F(StoreIntegrity, AChangedBinaryFailsVerificationAndIsQuarantinedNotFailed) {
  BinaryStore store(home(), "lavap");
  two_versions(store);
  tamper(store.binary_path("1.0.0"));
  const Status verified = store.verify("1.0.0");
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().find("no longer matches"), std::string::npos) << verified.error();
  ASSERT_TRUE(store.quarantine("1.0.0").ok());
  EXPECT_FALSE(store.has_version("1.0.0"));
  EXPECT_EQ(store.recorded_hash("1.0.0"), "");
  EXPECT_EQ(store.state().failed.count("1.0.0"), 0u);
  // It can be installed again.
  EXPECT_TRUE(store.install_copy("1.0.0", make_binary("1.0.0")).ok());
}

TEST_F(StoreIntegrity, WithoutARecordedHashTheFirstCheckRecordsIt) {
  BinaryStore store(home(), "lavap");
  two_versions(store);
  // A state.json from before hashes were recorded: the same file without them.
  auto on_disk = load_state(home() + "/state.json");
  ASSERT_TRUE(on_disk.ok());
  StoreState without_hashes = on_disk.value();
  without_hashes.sha256.clear();
  ASSERT_TRUE(save_state(home() + "/state.json", without_hashes).ok());
  BinaryStore old(home(), "lavap");
  ASSERT_TRUE(old.open().ok());
  EXPECT_TRUE(old.check_current().ok());
  EXPECT_EQ(old.recorded_hash("2.0.0"), sha256_file(make_binary("2.0.0")).value());
  EXPECT_EQ(old.recorded_hash("1.0.0"), "");  // not current: not checked yet
  old.record_missing_hashes();
  EXPECT_EQ(old.recorded_hash("1.0.0"), sha256_file(make_binary("1.0.0")).value());
  tamper(old.binary_path("2.0.0"));
  EXPECT_FALSE(old.verify("2.0.0").ok());
  BinaryStore reread(home(), "lavap");  // and the hashes were saved
  ASSERT_TRUE(reread.open().ok());
  EXPECT_EQ(reread.recorded_hash("1.0.0"), old.recorded_hash("1.0.0"));
}

TEST_F(StoreIntegrity, AHashRecordedOnDiskByAnotherProcessIsUsedBeforeTrustOnFirstUse) {
  BinaryStore running(home(), "lavap");  // a visor that runs while `add-upgrade` stages 3.0.0
  two_versions(running);
  BinaryStore add_upgrade(home(), "lavap");
  ASSERT_TRUE(add_upgrade.open().ok());
  ASSERT_TRUE(add_upgrade.install_copy("3.0.0", make_binary("3.0.0")).ok());
  ASSERT_TRUE(add_upgrade.save().ok());
  EXPECT_EQ(running.recorded_hash("3.0.0"), "");
  tamper(running.binary_path("3.0.0"));
  EXPECT_FALSE(running.verify("3.0.0").ok());  // not trusted on first use: state.json knew it
}

// `add-upgrade --force` while visor runs: the running store knew the old hash; the new one in
// state.json counts. A change that state.json does not record still fails.
TEST_F(StoreIntegrity, AHashReplacedOnDiskByAddUpgradeForceIsHonoured) {
  BinaryStore running(home(), "lavap");
  two_versions(running);
  ASSERT_TRUE(running.install_copy("3.0.0", make_binary("3.0.0")).ok());
  ASSERT_TRUE(running.save().ok());
  ASSERT_TRUE(running.verify("3.0.0").ok());
  const std::string old_hash = running.recorded_hash("3.0.0");
  const std::string rebuilt = root_ + "/lavap-3.0.0-rebuilt";
  std::ofstream(rebuilt) << "#!/bin/sh\necho 3.0.0 rebuilt\n";
  fs::permissions(rebuilt, fs::perms::owner_all);
  BinaryStore add_upgrade(home(), "lavap");
  ASSERT_TRUE(add_upgrade.open().ok());
  ASSERT_TRUE(add_upgrade.replace_copy("3.0.0", rebuilt).ok());
  const Status verified = running.verify("3.0.0");
  EXPECT_TRUE(verified.ok()) << verified.error();
  EXPECT_EQ(running.recorded_hash("3.0.0"), sha256_file(rebuilt).value());
  EXPECT_NE(running.recorded_hash("3.0.0"), old_hash);
  tamper(running.binary_path("3.0.0"));
  EXPECT_FALSE(running.verify("3.0.0").ok());
}

TEST_F(StoreIntegrity, ATamperedCurrentIsRepairedFromPrevious) {
  BinaryStore store(home(), "lavap");
  two_versions(store);
  tamper(store.binary_path("2.0.0"));
  BinaryStore restarted(home(), "lavap");
  ASSERT_TRUE(restarted.open().ok());
  const Status checked = restarted.check_current();
  ASSERT_TRUE(checked.ok()) << checked.error();
  EXPECT_EQ(fs::read_symlink(home() + "/current"), "upgrades/1.0.0");
  EXPECT_EQ(restarted.state().current, "1.0.0");
  EXPECT_FALSE(restarted.has_version("2.0.0"));  // set aside so that it is fetched again
  EXPECT_EQ(restarted.state().failed.count("2.0.0"), 0u);
}

TEST_F(StoreIntegrity, ATamperedCurrentWithNothingToRepairFromIsRefused) {
  BinaryStore store(home(), "lavap");
  ASSERT_TRUE(store.open().ok());
  ASSERT_TRUE(store.install_copy("1.0.0", make_binary("1.0.0")).ok());
  ASSERT_TRUE(store.switch_to("1.0.0").ok());
  tamper(store.binary_path("1.0.0"));
  BinaryStore restarted(home(), "lavap");
  ASSERT_TRUE(restarted.open().ok());
  const Status checked = restarted.check_current();
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().find("refusing"), std::string::npos) << checked.error();
  EXPECT_EQ(checked.error().find('\n'), std::string::npos);  // one line
}

TEST_F(StoreIntegrity, CurrentOutsideTheHomeIsNeverHonouredAndIsRepaired) {
  BinaryStore store(home(), "lavap");
  two_versions(store);
  // A foreign tree with the same shape, outside the home.
  const std::string elsewhere = root_ + "/elsewhere/upgrades/2.0.0";
  fs::create_directories(elsewhere);
  fs::copy_file(make_binary("2.0.0"), elsewhere + "/lavap");
  for (const std::string& target :
       {elsewhere, std::string("../elsewhere/upgrades/2.0.0"),
        std::string("upgrades/2.0.0/../2.0.0"), std::string("./upgrades/2.0.0"),
        std::string("upgrades/missing")}) {
    link_current(target);
    EXPECT_FALSE(store.current_version().has_value()) << target;
    EXPECT_NE(store.current_problem(), "") << target;
    BinaryStore restarted(home(), "lavap");
    ASSERT_TRUE(restarted.open().ok());
    const Status checked = restarted.check_current();
    ASSERT_TRUE(checked.ok()) << target << ": " << checked.error();
    EXPECT_EQ(fs::read_symlink(home() + "/current"), "upgrades/2.0.0") << target;
  }
  // Not a symbolic link at all: a folder named current holding a binary.
  fs::remove(home() + "/current");
  fs::create_directories(home() + "/current");
  fs::copy_file(make_binary("2.0.0"), home() + "/current/lavap");
  EXPECT_EQ(store.current_problem(), "is not a symbolic link");
  BinaryStore restarted(home(), "lavap");
  ASSERT_TRUE(restarted.open().ok());
  EXPECT_FALSE(restarted.check_current().ok());  // a folder is not replaced by a link
}

TEST_F(StoreIntegrity, AVersionFolderThatIsALinkIsNotAVersion) {
  BinaryStore store(home(), "lavap");
  ASSERT_TRUE(store.open().ok());
  const std::string elsewhere = root_ + "/elsewhere/9.9.9";
  fs::create_directories(elsewhere);
  fs::copy_file(make_binary("9.9.9"), elsewhere + "/lavap");
  fs::create_directory_symlink(elsewhere, home() + "/upgrades/9.9.9");
  EXPECT_FALSE(store.has_version("9.9.9"));
  link_current("upgrades/9.9.9");
  EXPECT_FALSE(store.current_version().has_value());
}

}  // namespace
}  // namespace visor

#include "visor/upgrade/stager.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../fetch/release_server.h"

namespace visor {
namespace {

using testing::ReleaseServer;
using testing::TempDir;
namespace fs = std::filesystem;

// A version of a service set running two binaries of one release ("node" and "tool"), served
// by the real release server; each stand-in binary is a script that prints its version.
class MultiBinaryStaging : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(temp_ / "www/1.2.3");
    fs::create_directories(temp_ / "home");
    store_ =
        std::make_unique<BinaryStore>(temp_ / "home", std::vector<std::string>{"node", "tool"});
    ASSERT_TRUE(store_->open().ok());
  }
  void serve() {
    std::string error;
    server_ = ReleaseServer::start(temp_ / "www", temp_ / "requests.log", {}, error);
    ASSERT_NE(server_, nullptr) << error;
  }
  static void write_script(const std::string& path, const std::string& version) {
    std::ofstream(path) << "#!/bin/sh\necho " << version << "\n";
    fs::permissions(path, fs::perms::owner_all);
  }
  // The SHA-256 of a file by coreutils' sha256sum, independent of visor's own code.
  static std::string coreutils_sha256(const std::string& path) {
    FILE* pipe = ::popen(("sha256sum '" + path + "'").c_str(), "r");
    if (pipe == nullptr) return {};
    char hex[65] = {};
    const std::size_t got = std::fread(hex, 1, 64, pipe);
    ::pclose(pipe);
    return std::string(hex, got);
  }
  // sha256sum.txt lines for `files` under www/1.2.3, hashed by coreutils.
  void write_checksums(const std::vector<std::string>& files) {
    std::string sums;
    for (const auto& file : files) {
      const std::string path = temp_ / ("www/1.2.3/" + file);
      sums += coreutils_sha256(path) + "  " + file + "\n";
    }
    std::ofstream(temp_ / "www/1.2.3/sha256sum.txt") << sums;
  }
  Options options(const std::string& download_template) const {
    Options result;
    result.download_url = server_->url(download_template);
    result.checksum_url = server_->url("{version}/sha256sum.txt");
    result.allow_http = true;
    return result;
  }
  int gets_of(const std::string& path) const {
    int count = 0;
    for (const auto& request : server_->requests()) {
      count += request.value("method", "") == "GET" && request.value("path", "") == path;
    }
    return count;
  }

  TempDir temp_;
  std::unique_ptr<ReleaseServer> server_;
  std::unique_ptr<BinaryStore> store_;
};

TEST_F(MultiBinaryStaging, BareArtifactsAreFetchedOncePerNameWithOneChecksumFile) {
  write_script(temp_ / "www/1.2.3/node", "1.2.3");
  write_script(temp_ / "www/1.2.3/tool", "v1.2.3");
  write_checksums({"node", "tool"});
  serve();
  StageRequest request;
  request.version = "1.2.3";
  auto staged = stage_version(request, options("{version}/{name}"), *store_);
  ASSERT_TRUE(staged.ok()) << staged.error();
  EXPECT_EQ(staged->version, "1.2.3");
  EXPECT_TRUE(store_->has_version("1.2.3"));
  EXPECT_TRUE(fs::exists(store_->binary_path("1.2.3", "node")));
  EXPECT_TRUE(fs::exists(store_->binary_path("1.2.3", "tool")));
  EXPECT_EQ(gets_of("/1.2.3/node"), 1);
  EXPECT_EQ(gets_of("/1.2.3/tool"), 1);
  EXPECT_EQ(gets_of("/1.2.3/sha256sum.txt"), 1);
}

TEST_F(MultiBinaryStaging, OneArchiveProvidesEveryBinaryAndIsDownloadedOnce) {
  fs::create_directories(temp_ / "pack/bin");
  write_script(temp_ / "pack/bin/node", "1.2.3");
  write_script(temp_ / "pack/bin/tool", "1.2.3");
  const std::string archive = temp_ / "www/1.2.3/release.tar.gz";
  ASSERT_EQ(std::system(("tar -czf '" + archive + "' -C '" + (temp_ / "pack") + "' bin").c_str()),
            0);
  write_checksums({"release.tar.gz"});
  serve();
  StageRequest request;
  request.version = "1.2.3";
  auto staged = stage_version(request, options("{version}/release.tar.gz"), *store_);
  ASSERT_TRUE(staged.ok()) << staged.error();
  EXPECT_TRUE(store_->has_version("1.2.3"));
  EXPECT_EQ(gets_of("/1.2.3/release.tar.gz"), 1);
  EXPECT_EQ(gets_of("/1.2.3/sha256sum.txt"), 1);
}

TEST_F(MultiBinaryStaging, ABinaryOfAnotherVersionRefusesTheWholeVersion) {
  write_script(temp_ / "www/1.2.3/node", "1.2.3");
  write_script(temp_ / "www/1.2.3/tool", "1.2.2");
  write_checksums({"node", "tool"});
  serve();
  StageRequest request;
  request.version = "1.2.3";
  auto staged = stage_version(request, options("{version}/{name}"), *store_);
  ASSERT_FALSE(staged.ok());
  EXPECT_NE(staged.error().find("reports version 1.2.2 for tool"), std::string::npos)
      << staged.error();
  EXPECT_FALSE(store_->has_version("1.2.3"));
  EXPECT_FALSE(fs::exists(store_->version_dir("1.2.3")));
}

TEST_F(MultiBinaryStaging, AVersionIsThereOnlyWithEveryBinary) {
  const std::string node = temp_ / "node";
  write_script(node, "2.0.0");
  EXPECT_FALSE(store_->install_copies("2.0.0", {{"node", node}}).ok());  // tool is missing
  EXPECT_FALSE(fs::exists(store_->version_dir("2.0.0")));
  ASSERT_TRUE(store_->install_copies("2.0.0", {{"node", node}, {"tool", node}}).ok());
  EXPECT_TRUE(store_->has_version("2.0.0"));
  fs::remove(store_->binary_path("2.0.0", "tool"));
  EXPECT_FALSE(store_->has_version("2.0.0"));
}

}  // namespace
}  // namespace visor

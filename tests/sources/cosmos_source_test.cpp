#include "visor/sources/cosmos_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "source_test_support.h"

namespace visor {
namespace {

using std::chrono::milliseconds;
using test::Recorder;
using test::run_until;

const std::string kHex = "8630d1e36017ca680d572926d6a4fc7fe9a24901c52f48c70523b7d44ad0cfb2";

std::string plan(const std::string& name, std::uint64_t height) {
  return R"({"name":")" + name + R"(","time":"0001-01-01T00:00:00Z","height":)" +
         std::to_string(height) +
         R"(,"info":"{\"binaries\":{\"any\":\"https://example.com/simd?checksum=sha256:)" + kHex +
         R"(\"}}"})";
}

// Real files in a scratch directory; the fallback poll is long (30 s) unless a test needs it, so
// that a quick reaction proves inotify at work.
class CosmosSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.source = SourceKind::cosmos;
    options_.upgrade_info = scratch_.file("data/upgrade-info.json");
    options_.poll_interval = milliseconds(1000);
    std::filesystem::create_directories(scratch_.file("data"));
  }

  std::unique_ptr<CosmosSource> make(milliseconds fallback = milliseconds(30000),
                                     bool inotify = true) {
    CosmosWatchSettings settings;
    settings.fallback_poll = fallback;
    settings.use_inotify = inotify;
    return std::make_unique<CosmosSource>(io_, worker_, options_, settings);
  }

  const std::string& file() const { return options_.upgrade_info; }

  test::ScratchDir scratch_;
  Options options_;
  boost::asio::io_context io_;
  Worker worker_{io_};
  Recorder recorder_;
};

TEST(CosmosWatchSettings, FallbackIsTenPollIntervalsAndAtLeastFiveSeconds) {
  Options options;
  options.poll_interval = milliseconds(1000);
  EXPECT_EQ(CosmosWatchSettings::from(options).fallback_poll, milliseconds(10000));
  EXPECT_TRUE(CosmosWatchSettings::from(options).use_inotify);
  options.poll_interval = milliseconds(100);
  EXPECT_EQ(CosmosWatchSettings::from(options).fallback_poll, milliseconds(5000));
}

TEST_F(CosmosSourceTest, AFileWrittenLaterIsSeenAtOnce) {
  auto source = make();
  EXPECT_STREQ(source->name(), "cosmos");
  source->set_current_version("1.0.0");
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls() >= 1; }));
  EXPECT_TRUE(source->watching());
  EXPECT_TRUE(recorder_.decisions.empty());
  EXPECT_EQ(recorder_.polls_ok, 1);  // no file yet is not a failure

  test::write_file(file(), plan("v2.0.0", 1234));
  ASSERT_TRUE(run_until(
      io_, [&] { return !recorder_.decisions.empty(); }, milliseconds(3000)));
  const auto& decision = recorder_.decisions[0];
  EXPECT_EQ(decision.plan, "v2.0.0");
  EXPECT_EQ(decision.target, "2.0.0");
  EXPECT_TRUE(decision.activate);
  EXPECT_EQ(decision.height, std::optional<std::uint64_t>(1234));
  EXPECT_EQ(decision.url, "https://example.com/simd?checksum=sha256:" + kHex);
  EXPECT_EQ(decision.sha256, kHex);
  EXPECT_TRUE(recorder_.errors.empty());
}

TEST_F(CosmosSourceTest, AFileThereAtStartIsActedOn) {
  test::write_file(file(), plan("v2.0.0", 1234));
  auto source = make();
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  EXPECT_EQ(recorder_.decisions[0].plan, "v2.0.0");
}

TEST_F(CosmosSourceTest, AFileReplacedByRenameIsSeen) {
  test::write_file(file(), plan("v2.0.0", 1234));
  auto source = make();
  source->set_current_version("1.0.0");
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 1; }));
  test::replace_file(file(), plan("gov-upgrade-3", 5000));
  ASSERT_TRUE(run_until(
      io_, [&] { return recorder_.decisions.size() == 2; }, milliseconds(3000)));
  EXPECT_EQ(recorder_.decisions[1].plan, "gov-upgrade-3");
  EXPECT_TRUE(recorder_.decisions[1].target.empty());  // the daemon maps the plan
  EXPECT_TRUE(recorder_.decisions[1].activate);
  EXPECT_EQ(recorder_.decisions[1].height, std::optional<std::uint64_t>(5000));
}

TEST_F(CosmosSourceTest, AHalfWrittenFileIsIgnoredUntilItIsComplete) {
  auto source = make();
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls() >= 1; }));
  const std::string whole = plan("v2.0.0", 1234);
  const int fd = ::open(file().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, whole.data(), whole.size() / 2), static_cast<ssize_t>(whole.size() / 2));
  test::run_for(io_, milliseconds(300));  // IN_CREATE was seen, the half did not parse
  EXPECT_TRUE(recorder_.decisions.empty());
  ASSERT_EQ(::write(fd, whole.data() + whole.size() / 2, whole.size() - whole.size() / 2),
            static_cast<ssize_t>(whole.size() - whole.size() / 2));
  ::close(fd);  // IN_CLOSE_WRITE
  ASSERT_TRUE(run_until(
      io_, [&] { return !recorder_.decisions.empty(); }, milliseconds(3000)));
  EXPECT_EQ(recorder_.decisions[0].plan, "v2.0.0");
  EXPECT_EQ(recorder_.decisions[0].height, std::optional<std::uint64_t>(1234));
  test::run_for(io_, milliseconds(200));
  EXPECT_EQ(recorder_.decisions.size(), 1u);
  EXPECT_TRUE(recorder_.errors.empty());
  EXPECT_EQ(recorder_.polls_failed, 0);
}

TEST_F(CosmosSourceTest, TheSamePlanTwiceIsActedOnOnce) {
  auto source = make(milliseconds(200));
  recorder_.start(*source);
  test::write_file(file(), plan("v2.0.0", 1234));
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  test::write_file(file(), plan("v2.0.0", 1234));    // written again
  test::replace_file(file(), plan("v2.0.0", 1234));  // and renamed over
  test::run_for(io_, milliseconds(800));             // and re-read by several fallback polls
  EXPECT_EQ(recorder_.decisions.size(), 1u);
  // The same name at another height is another plan.
  test::replace_file(file(), plan("v2.0.0", 1300));
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 2; }));
  EXPECT_EQ(recorder_.decisions[1].height, std::optional<std::uint64_t>(1300));
}

TEST_F(CosmosSourceTest, PlansMarkedDoneAreNeverDelivered) {
  test::write_file(file(), plan("v2.0.0", 1234));
  auto source = make(milliseconds(200));
  source->mark_done("v2.0.0", 1234);
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls() >= 3; }));
  EXPECT_TRUE(recorder_.decisions.empty());
}

TEST_F(CosmosSourceTest, APlanNotAboveTheCurrentVersionIsNotDelivered) {
  test::write_file(file(), plan("v2.0.0", 1234));
  auto source = make(milliseconds(200));
  source->set_current_version("2.0.0");  // the upgrade already happened; the file stays behind
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls() >= 3; }));
  EXPECT_TRUE(recorder_.decisions.empty());
  EXPECT_TRUE(recorder_.errors.empty());
}

TEST_F(CosmosSourceTest, RedeliverRepeatsUntilMarkedDone) {
  auto source = make();
  recorder_.start(*source);
  source->redeliver();  // nothing delivered yet
  EXPECT_TRUE(recorder_.decisions.empty());
  test::write_file(file(), plan("v2.0.0", 1234));
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.decisions.size() == 1; }));
  source->redeliver();
  ASSERT_EQ(recorder_.decisions.size(), 2u);
  EXPECT_TRUE(same_action(recorder_.decisions[0], recorder_.decisions[1]));
  source->mark_done("v2.0.0", 1234);
  source->redeliver();
  EXPECT_EQ(recorder_.decisions.size(), 2u);
}

TEST_F(CosmosSourceTest, WithoutInotifyTheFallbackPollFindsTheFile) {
  auto source = make(milliseconds(200), false);
  recorder_.start(*source);
  test::run_for(io_, milliseconds(50));
  EXPECT_FALSE(source->watching());
  test::replace_file(file(), plan("v2.0.0", 1234));
  ASSERT_TRUE(run_until(
      io_, [&] { return !recorder_.decisions.empty(); }, milliseconds(3000)));
  EXPECT_EQ(recorder_.decisions[0].plan, "v2.0.0");
}

TEST_F(CosmosSourceTest, ADirectoryCreatedLaterIsWatchedOnceItExists) {
  std::filesystem::remove_all(scratch_.file("data"));
  auto source = make(milliseconds(200));
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0],
            "cosmos watch " + scratch_.file("data") +
                ": inotify_add_watch: No such file or directory; polling every "
                "200ms until it can be watched");
  EXPECT_FALSE(source->watching());
  std::filesystem::create_directories(scratch_.file("data"));
  ASSERT_TRUE(run_until(io_, [&] { return source->watching(); }));
  test::write_file(file(), plan("v2.0.0", 1234));
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  EXPECT_EQ(recorder_.errors.size(), 1u);
}

TEST_F(CosmosSourceTest, ADirectoryReplacedIsWatchedAgain) {
  auto source = make(milliseconds(300));
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return source->watching(); }));
  std::filesystem::rename(scratch_.file("data"), scratch_.file("old-data"));
  std::filesystem::create_directories(scratch_.file("data"));
  ASSERT_TRUE(run_until(io_, [&] { return !source->watching(); }));  // the move was noticed
  ASSERT_TRUE(run_until(io_, [&] { return source->watching(); }));   // and re-armed by path
  test::write_file(scratch_.file("old-data/upgrade-info.json"), plan("v9.0.0", 1));  // not ours
  test::write_file(file(), plan("v2.0.0", 1234));
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
  EXPECT_EQ(recorder_.decisions[0].plan, "v2.0.0");
  test::run_for(io_, milliseconds(400));
  EXPECT_EQ(recorder_.decisions.size(), 1u);
}

TEST_F(CosmosSourceTest, AFileBeyondOneMebibyteIsAnError) {
  test::write_file(file(), std::string((1 << 20) + 1, ' '));
  auto source = make();
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0], "cosmos read " + file() + ": larger than 1048576 bytes");
  EXPECT_EQ(recorder_.polls_failed, 1);
}

TEST_F(CosmosSourceTest, ContentThatStaysGarbledIsReportedOnce) {
  auto source = make(milliseconds(200));
  recorder_.start(*source);
  test::write_file(file(), "{\"name\":\"v2.0.0\",\"hei");
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.errors.empty(); }));
  EXPECT_EQ(recorder_.errors[0].rfind("cosmos parse " + file() + ": not JSON", 0), 0u)
      << recorder_.errors[0];
  test::run_for(io_, milliseconds(600));
  EXPECT_EQ(recorder_.errors.size(), 1u);
  EXPECT_GE(recorder_.polls_failed, 2);
  test::replace_file(file(), plan("v2.0.0", 1234));  // fixed: acted on
  ASSERT_TRUE(run_until(io_, [&] { return !recorder_.decisions.empty(); }));
}

TEST_F(CosmosSourceTest, NothingIsReportedAfterStop) {
  auto source = make(milliseconds(200));
  recorder_.start(*source);
  ASSERT_TRUE(run_until(io_, [&] { return recorder_.polls() >= 1; }));
  source->stop();
  EXPECT_FALSE(source->watching());
  const int polls = recorder_.polls();
  test::write_file(file(), plan("v2.0.0", 1234));
  test::run_for(io_, milliseconds(500));
  EXPECT_EQ(recorder_.polls(), polls);
  EXPECT_TRUE(recorder_.decisions.empty());
}

}  // namespace
}  // namespace visor

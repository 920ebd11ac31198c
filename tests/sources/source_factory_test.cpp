#include "visor/sources/source_factory.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

TEST(MakeSource, BuildsTheSourceThatOptionsName) {
  boost::asio::io_context io;
  Worker worker(io);
  Options options;
  options.lava_rest = "http://127.0.0.1:1317";
  options.upgrade_info = "/tmp/upgrade-info.json";
  EXPECT_EQ(make_source(io, worker, options), nullptr);  // SourceKind::none
  for (auto [kind, name] :
       {std::pair{SourceKind::lava, "lava"}, std::pair{SourceKind::vega, "vega"},
        std::pair{SourceKind::cosmos, "cosmos"}}) {
    options.source = kind;
    auto source = make_source(io, worker, options);
    ASSERT_NE(source, nullptr) << name;
    EXPECT_STREQ(source->name(), name);
  }
}

}  // namespace
}  // namespace visor

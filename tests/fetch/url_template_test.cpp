#include "visor/fetch/url_template.h"

#include <gtest/gtest.h>

namespace visor {
namespace {

TemplateValues lava(const std::string& version) {
  TemplateValues values;
  values.version = version;
  values.arch = "amd64";
  values.name = "lavap";
  return values;
}

TEST(UrlTemplate, ExpandsLavaReleaseUrl) {
  const std::string url =
      "https://github.com/lavanet/lava/releases/download/v{version}/{name}-v{version}-{os}-{arch}";
  EXPECT_EQ(expand_url_template(url, lava("5.2.1")),
            "https://github.com/lavanet/lava/releases/download/v5.2.1/lavap-v5.2.1-linux-amd64");
}

TEST(UrlTemplate, VersionAndTagAgreeWhicheverSpellingIsGiven) {
  const std::string text = "{version} {tag}";
  EXPECT_EQ(expand_url_template(text, lava("0.79.0")), "0.79.0 v0.79.0");
  EXPECT_EQ(expand_url_template(text, lava("v0.79.0")), "0.79.0 v0.79.0");
}

TEST(UrlTemplate, ExpandsVegaZipUrlWithRepeatsAndLeavesUnknownWords) {
  TemplateValues values = lava("v0.80.0-rc.1");
  values.arch = "arm64";
  EXPECT_EQ(expand_url_template("/download/{tag}/vega-{os}-{arch}.zip?{tag}", values),
            "/download/v0.80.0-rc.1/vega-linux-arm64.zip?v0.80.0-rc.1");
  EXPECT_EQ(expand_url_template("{unknown}/{x{name}}/{", values), "{unknown}/{xlavap}/{");
}

TEST(UrlTemplate, HostArchIsAReleaseSpelling) {
  const std::string arch = host_arch();
#if defined(__x86_64__)
  EXPECT_EQ(arch, "amd64");
#elif defined(__aarch64__)
  EXPECT_EQ(arch, "arm64");
#endif
  EXPECT_EQ(TemplateValues().arch, arch);
  EXPECT_EQ(TemplateValues().os, "linux");
}

}  // namespace
}  // namespace visor

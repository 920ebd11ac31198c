#include "visor/fetch/url_template.h"

#include <sys/utsname.h>

#include <string>

namespace visor {
namespace {

std::string arch_from_machine(const std::string& machine) {
  if (machine == "x86_64" || machine == "amd64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine == "i386" || machine == "i686") return "386";
  if (machine.rfind("armv", 0) == 0) return "arm";
  return machine;
}

std::string without_leading_v(const std::string& version) {
  if (!version.empty() && (version[0] == 'v' || version[0] == 'V')) return version.substr(1);
  return version;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string host_arch() {
  struct utsname names {};
  // uname() only fails for a bad pointer; fall back to the architecture we were built for.
  if (::uname(&names) != 0) {
#if defined(__aarch64__)
    return "arm64";
#else
    return "amd64";
#endif
  }
  return arch_from_machine(names.machine);
}

std::string expand_url_template(const std::string& text, const TemplateValues& values) {
  const std::string version = without_leading_v(values.version);
  const std::string tag = version.empty() ? std::string() : "v" + version;
  std::string out;
  out.reserve(text.size() + 32);
  std::size_t position = 0;
  while (position < text.size()) {
    const std::size_t first_open = text.find('{', position);
    if (first_open == std::string::npos) break;
    const std::size_t close = text.find('}', first_open);
    if (close == std::string::npos) break;
    // In "{x{version}" only the innermost brace pair is a placeholder.
    const std::size_t open = text.rfind('{', close);
    out.append(text, position, open - position);
    const std::string word = text.substr(open + 1, close - open - 1);
    if (word == "version") {
      out += version;
    } else if (word == "tag") {
      out += tag;
    } else if (word == "os") {
      out += values.os;
    } else if (word == "arch") {
      out += values.arch;
    } else if (word == "name") {
      out += values.name;
    } else {
      out.append(text, open, close - open + 1);
    }
    position = close + 1;
  }
  out.append(text, position, std::string::npos);
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace visor

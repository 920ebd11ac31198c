// A small validator of the Prometheus text exposition format (0.0.4), shared by the unit tests of
// render_metrics and the end-to-end test of /metrics. It checks what the format requires and what
// visor promises: every sample's family has # HELP and # TYPE before it, families are contiguous,
// names and label names are well formed, label values use only the format's escapes, values
// parse as doubles, and no sample repeats.
#pragma once

#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace visor::testing {

struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;  ///< unescaped values
  double value = 0;
};

struct PrometheusText {
  std::vector<std::string> errors;           ///< empty when the text is valid
  std::map<std::string, std::string> types;  ///< family -> counter|gauge|...
  std::map<std::string, std::string> help;
  std::vector<PrometheusSample> samples;

  /// The value of the sample `name` with exactly `labels`; nullopt when absent.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& sample : samples) {
      if (sample.name == name && sample.labels == labels) return sample.value;
    }
    return std::nullopt;
  }
};

inline bool parse_prometheus_value(const std::string& text, double& value) {
  if (text == "NaN") {
    value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text == "+Inf") {
    value = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    value = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && text.find_first_of("xXnNiI") == std::string::npos;
}

inline PrometheusText validate_prometheus_text(const std::string& text) {
  static const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  static const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};
  PrometheusText result;
  std::set<std::string> finished_families;
  std::string current_family;
  std::set<std::string> seen_samples;
  if (!text.empty() && text.back() != '\n')
    result.errors.push_back("the text does not end with a newline");

  std::istringstream lines(text);
  std::string line;
  int number = 0;
  const auto fail = [&](const std::string& message) {
    result.errors.push_back("line " + std::to_string(number) + ": " + message + ": " + line);
  };
  // Switches the current family; a family that comes back after another one is an error.
  const auto enter_family = [&](const std::string& family) {
    if (family == current_family) return;
    if (!current_family.empty()) finished_families.insert(current_family);
    if (finished_families.count(family)) fail("family " + family + " is not contiguous");
    current_family = family;
  };
  while (std::getline(lines, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string keyword, name;
      words >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // a plain comment
      if (!std::regex_match(name, kMetricName)) {
        fail("bad metric name in # " + keyword);
        continue;
      }
      enter_family(name);
      std::string rest;
      std::getline(words, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (keyword == "HELP") {
        if (result.help.count(name)) fail("second # HELP for " + name);
        for (std::size_t at = 0; at < rest.size(); ++at) {
          if (rest[at] == '\\' &&
              (at + 1 >= rest.size() || (rest[at + 1] != '\\' && rest[at + 1] != 'n'))) {
            fail("bad escape in # HELP");
          }
          if (rest[at] == '\\') ++at;
        }
        result.help[name] = rest;
      } else {
        if (result.types.count(name)) fail("second # TYPE for " + name);
        if (!kTypes.count(rest)) fail("unknown type '" + rest + "'");
        bool sample_before = false;
        for (const auto& sample : result.samples)
          sample_before = sample_before || sample.name == name;
        if (sample_before) fail("# TYPE after samples of " + name);
        result.types[name] = rest;
      }
      continue;
    }

    PrometheusSample sample;
    std::size_t at = 0;
    while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
    sample.name = line.substr(0, at);
    if (!std::regex_match(sample.name, kMetricName)) {
      fail("bad metric name");
      continue;
    }
    bool labels_ok = true;
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (labels_ok && at < line.size() && line[at] != '}') {
        const std::size_t equals = line.find('=', at);
        if (equals == std::string::npos) {
          labels_ok = false;
          break;
        }
        const std::string label = line.substr(at, equals - at);
        if (!std::regex_match(label, kLabelName) || label.rfind("__", 0) == 0) {
          fail("bad label name '" + label + "'");
          labels_ok = false;
          break;
        }
        at = equals + 1;
        if (at >= line.size() || line[at] != '"') {
          fail("label value not quoted");
          labels_ok = false;
          break;
        }
        ++at;
        std::string value;
        bool closed = false;
        while (at < line.size()) {
          const char c = line[at++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (at >= line.size()) break;
            const char next = line[at++];
            if (next == '\\')
              value += '\\';
            else if (next == '"')
              value += '"';
            else if (next == 'n')
              value += '\n';
            else {
              fail(std::string("bad escape \\") + next + " in a label value");
              labels_ok = false;
              break;
            }
          } else {
            value += c;
          }
        }
        if (!labels_ok) break;
        if (!closed) {
          fail("unterminated label value");
          labels_ok = false;
          break;
        }
        if (sample.labels.count(label)) {
          fail("repeated label " + label);
          labels_ok = false;
          break;
        }
        sample.labels[label] = value;
        if (at < line.size() && line[at] == ',') ++at;
      }
      if (!labels_ok) continue;
      if (at >= line.size() || line[at] != '}') {
        fail("unterminated label set");
        continue;
      }
      ++at;
    }
    if (at >= line.size() || line[at] != ' ') {
      fail("no value");
      continue;
    }
    std::istringstream rest(line.substr(at + 1));
    std::string value_text, timestamp, extra;
    rest >> value_text >> timestamp >> extra;
    if (!parse_prometheus_value(value_text, sample.value)) {
      fail("value is not a number");
      continue;
    }
    if (!extra.empty()) {
      fail("trailing text");
      continue;
    }
    if (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos) {
      fail("bad timestamp");
      continue;
    }

    std::string family = sample.name;
    if (!result.types.count(family)) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (family.size() > s.size() &&
            family.compare(family.size() - s.size(), s.size(), s) == 0 &&
            result.types.count(family.substr(0, family.size() - s.size()))) {
          family = family.substr(0, family.size() - s.size());
        }
      }
    }
    if (!result.types.count(family)) fail("sample of " + family + " without # TYPE before it");
    if (!result.help.count(family)) fail("sample of " + family + " without # HELP before it");
    enter_family(family);
    std::string key = sample.name + "{";
    for (const auto& [label, value] : sample.labels) key += label + "=" + value + ",";
    if (!seen_samples.insert(key).second) fail("repeated sample");
    result.samples.push_back(std::move(sample));
  }
  return result;
}

}  // namespace visor::testing

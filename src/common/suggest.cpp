#include "visor/common/suggest.h"

#include <algorithm>
#include <cctype>

namespace visor {
namespace {

char fold(char c) {
  if (c == '_') return '-';
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Optimal string alignment distance. Written here because it is a dozen lines and no Debian
// C++ library offers it without pulling in far more than visor needs.
std::size_t edit_distance(const std::string& left, const std::string& right) {
  const std::size_t rows = left.size() + 1;
  const std::size_t columns = right.size() + 1;
  std::vector<std::size_t> table(rows * columns);
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return table[i * columns + j]; };
  for (std::size_t i = 0; i < rows; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j < columns; ++j) at(0, j) = j;
  for (std::size_t i = 1; i < rows; ++i) {
    for (std::size_t j = 1; j < columns; ++j) {
      const std::size_t cost = fold(left[i - 1]) == fold(right[j - 1]) ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && fold(left[i - 1]) == fold(right[j - 2]) &&
          fold(left[i - 2]) == fold(right[j - 1])) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(rows - 1, columns - 1);
}

}  // namespace

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  if (word.empty() || word.size() > 200) return {};
  const std::size_t allowed = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t best_distance = allowed + 1;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix) {
  const std::string best = closest_name(word, candidates);
  if (best.empty()) return {};
  return " (did you mean '" + prefix + best + "'?)";
}

}  // namespace visor

// "Did you mean": the closest of a set of known names to a misspelt one.
#pragma once

#include <string>
#include <vector>

namespace visor {

/// The candidate closest to `word` by edit distance (insertions, deletions, substitutions and
/// swaps of neighbours; `_` and `-` count as equal, case is ignored), or "" when none is close
/// enough to be a plausible typo (distance above a third of the word's length, at least 2).
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);

/// " (did you mean 'X'?)" for the closest candidate, with `prefix` before X (e.g. "--"), or ""
/// when there is none.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix = "");

}  // namespace visor

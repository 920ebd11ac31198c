// Splitting a command line into words the way a POSIX shell does, without running a shell.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "visor/common/result.h"

namespace visor {

/// Splits `text` into words with POSIX shell quoting rules: blanks separate words; single
/// quotes keep everything literally; double quotes keep everything but `\"`, `\\`, `\$`, `` \` ``
/// and backslash-newline; an unquoted backslash quotes the next character. Nothing is expanded:
/// `$(...)`, `$VAR`, globs and `~` arrive literally. An unterminated quote or a trailing
/// backslash is an error.
Result<std::vector<std::string>> split_command_line(std::string_view text);

/// Quotes `word` so that split_command_line gives it back unchanged (for logs and unit files).
std::string quote_word(std::string_view word);

/// Joins words with quote_word.
std::string join_command_line(const std::vector<std::string>& words);

}  // namespace visor

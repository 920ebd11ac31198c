// Where an artifact's expected SHA-256 comes from: a sha256sum.txt-style file published next to
// the release, or a go-getter style "?checksum=sha256:<hex>" query on the artifact URL itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "visor/common/result.h"

namespace visor {

/// The lower-case SHA-256 listed for `file_name` in `sums_text`, the output format of
/// `sha256sum` ("<64 hex>  <name>" per line; "*<name>" marks binary mode). A listed path such
/// as "./dist/lavap" matches `file_name` "lavap" by its last component. Also read: CRLF line
/// ends, blank lines, "#" comments, BSD style "SHA256 (name) = <hex>", and a file that holds
/// nothing but one bare hash. Errors: no entry for the name (the message lists what the file
/// does name), an entry whose hash is not 64 hex digits, two entries with different hashes.
Result<std::string> find_checksum(std::string_view sums_text, std::string_view file_name);

/// The lower-case hex of a "checksum=sha256:<hex>" query parameter (also "?checksum=<hex>",
/// and "%3A" for the colon); nullopt when the URL has none or it is not a SHA-256.
std::optional<std::string> checksum_from_url(std::string_view url);

/// `url` without its checksum query parameter; other parameters and the fragment stay.
std::string strip_checksum_query(std::string_view url);

/// The last path component of `url`, without query or fragment, percent-decoded;
/// e.g. "https://h/dl/v1/lavap-v1-linux-amd64?x=1" -> "lavap-v1-linux-amd64".
std::string file_name_of_url(std::string_view url);

}  // namespace visor

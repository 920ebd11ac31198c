// `visor create-service`: a systemd unit that runs `visor wrap` as a Type=notify service.
#pragma once

#include <string>
#include <string_view>

#include "visor/cli/commands.h"
#include "visor/common/result.h"

namespace visor {

/// Quotes one word of a command line (ExecStart=) for systemd, which splits words itself:
/// words of plain characters stay as they are, others are double-quoted with C escapes;
/// `%` becomes `%%` (specifiers) and `$` becomes `$$` (environment expansion) in every word.
std::string quote_exec_word(std::string_view word);

/// Checks what render_service_unit needs: a --cmd that splits into words, an absolute home and
/// file names, a unit name and user without odd characters, and --visor-args that split.
Status check_service_request(const ServiceRequest& request);

/// The unit's name without ".service": --name, else the managed binary's name.
std::string service_name(const ServiceRequest& request);

/// Renders the unit for a request that passed check_service_request; `visor_path` is the
/// absolute path of the visor binary for ExecStart=.
std::string render_service_unit(const ServiceRequest& request, const std::string& visor_path);

}  // namespace visor

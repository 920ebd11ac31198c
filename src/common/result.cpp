#include "visor/common/result.h"

#include <cstring>

namespace visor {

std::string errno_text(int error_number) { return std::strerror(error_number); }

}  // namespace visor

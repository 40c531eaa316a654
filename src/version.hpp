#pragma once

// The version and build description printed by `evserve -v` and `-V`.

#include <string_view>

namespace evs {

std::string_view version();        // "0.1.0"
std::string_view build_summary();  // compiler, flags, modules built in

}  // namespace evs

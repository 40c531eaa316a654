#include "version.hpp"

namespace evs {

std::string_view version() {
    return EVS_VERSION;
}

std::string_view build_summary() {
    return "built by g++ " __VERSION__
           "\n"
           "event methods: epoll poll\n"
           "modules: core events";
}

}  // namespace evs

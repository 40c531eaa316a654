#pragma once

// The directive tables of the HTTP module (config_directives.cpp), for config.cpp's
// inheritance and for the directive reference. Internal to src/http.

#include "core/conf_directive.hpp"

namespace evs::http {

extern const core::conf::Table k_http_table;
extern const core::conf::Table k_server_table;
extern const core::conf::Table k_location_table;

}  // namespace evs::http

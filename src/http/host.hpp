#pragma once

// Host validation: the name that selects the virtual server, taken from the Host header or
// from an absolute-form request line, checked the way nginx's ngx_http_validate_host() does.
//
// The value is "name[:port]" or "[literal][:port]". The port part is dropped without being
// checked, and so is one trailing dot of the name ("example.com." is "example.com"). The value
// is refused (the request gets a 400) when it contains "..", a '/', a NUL, a space, a control
// character or DEL, or when nothing remains of the name. The caller lowercases the result if
// `has_uppercase` says so: evserve compares server names in lowercase, as nginx does, and the
// raw header value is kept unchanged for $http_host.

#include <string_view>

namespace evs::http {

struct HostCheck {
    bool valid = false;
    bool has_uppercase = false;  // the name needs lowercasing before it is used
    std::string_view name;       // a prefix of the input: port and trailing dot removed
};

HostCheck validate_host(std::string_view value);

}  // namespace evs::http

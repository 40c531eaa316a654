#pragma once

// ParseError: why the request parser refused a request head, with the status nginx answers
// for it and the text nginx logs (at "info" level, as client errors are).

#include <cstdint>
#include <string_view>

namespace evs::http {

// Why a request head was refused.
enum class ParseError : std::uint8_t {
    none,
    invalid_method,            // 400 "client sent invalid method"
    invalid_request,           // 400 "client sent invalid request" (request line syntax)
    invalid_version,           // 505 "client sent invalid version" (HTTP/2.0 and above)
    invalid_09_method,         // 400 HTTP/0.9 allows only GET
    invalid_uri,               // 400 bad escape, %00, ".." above the root
    invalid_request_host,      // 400 "client sent invalid host in request line"
    invalid_header,            // 400 "client sent invalid header line"
    invalid_host,              // 400 "client sent invalid host header"
    duplicate_host,            // 400 "client sent duplicate host header"
    duplicate_header,          // 400 "client sent duplicate header line"
    missing_host,              // 400 HTTP/1.1 request without Host
    invalid_content_length,    // 400
    content_length_and_te,     // 400 both Content-Length and Transfer-Encoding
    transfer_encoding_http10,  // 400 Transfer-Encoding in an HTTP/1.0 request
    unknown_transfer_coding,   // 501 anything but "chunked"
    connect_method,            // 405
    trace_method,              // 405
    uri_too_long,              // 414 "client sent too long URI"
    header_too_large,          // 494 "client sent too long header line"
    too_many_headers,          // 494 more header lines than the storage holds
    no_memory,                 // 500 the allocator failed
};

// nginx's internal code for "400 Request Header Or Cookie Too Large": the response goes out
// with status line "400 Bad Request" and that title in the body.
inline constexpr int k_status_request_header_too_large = 494;

// The HTTP status nginx answers for `error` (0 for none).
int status_of(ParseError error);
// nginx's log text for `error`, e.g. "client sent invalid header line".
std::string_view describe(ParseError error);

}  // namespace evs::http

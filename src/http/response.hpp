#pragma once

// Response heads and nginx's built-in error pages.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

namespace evs::http {

// "404 Not Found"; empty for a code nginx has no text for.
std::string_view status_line_text(int status);

// nginx's default body for an error status (the HTML page with the title and the
// server signature), or empty when the status has none.
// `tokens`: server_tokens on (the version in the signature).
std::size_t error_page(int status, bool tokens, char* out, std::size_t size);

// "Mon, 23 Nov 2026 17:02:00 GMT" for a time (Last-Modified); returns the length.
std::size_t format_http_time(std::time_t t, char* out, std::size_t size);
// Parses an HTTP date (RFC 1123, RFC 850 or asctime), -1 when invalid.
std::time_t parse_http_time(std::string_view text);

// The server signature: "evserve/0.1.0" or "evserve".
std::string_view server_signature(bool tokens);

}  // namespace evs::http

#pragma once

// Header and KnownHeader: one request header line, and the header names that evserve,
// like nginx's ngx_http_headers_in table, recognises while parsing.
//
// A Header holds views into the buffer the line was read into; it owns nothing. Names keep
// the case the client sent; lookups compare ASCII case-insensitively (nginx lowercases the
// name to hash it). The known names are the ones nginx keeps a fast pointer to, and the same
// ones are "unique": a second If-Modified-Since, Content-Length, Transfer-Encoding... is a 400,
// as in nginx's ngx_http_process_unique_header_line().

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace evs::http {

enum class KnownHeader : std::uint8_t {
    none,
    host,
    connection,
    if_modified_since,
    if_unmodified_since,
    if_match,
    if_none_match,
    user_agent,
    referer,
    content_length,
    content_range,
    content_type,
    range,
    if_range,
    transfer_encoding,
    te,
    expect,
    upgrade,
    accept_encoding,
    via,
    authorization,
    keep_alive,
    x_forwarded_for,
    x_real_ip,
    accept,
    accept_language,
    depth,
    destination,
    overwrite,
    date,
    cookie,
};

inline constexpr std::size_t k_known_header_count =
    static_cast<std::size_t>(KnownHeader::cookie) + 1;

struct Header {
    std::string_view name;   // as sent, without the colon
    std::string_view value;  // without leading and trailing spaces and tabs
    KnownHeader known = KnownHeader::none;
};

// The known header with this name (any case), or KnownHeader::none.
KnownHeader classify_header(std::string_view name);

// The canonical spelling ("If-Modified-Since"); "" for none.
std::string_view known_header_name(KnownHeader header);

// Whether a second occurrence of the header makes the request invalid (400), as nginx.
bool is_unique_header(KnownHeader header);

// ASCII case-insensitive equality.
bool equals_ignore_case(std::string_view a, std::string_view b);

// What a Connection header asks for. nginx looks for "close" first, then "keep-alive".
enum class ConnectionOption : std::uint8_t { none, close, keep_alive };

// Reads the comma-separated tokens of one Connection header value: close if a token is
// "close", else keep_alive if one is "keep-alive", else none.
ConnectionOption parse_connection_option(std::string_view value);

}  // namespace evs::http

#pragma once

// URI normalisation: the decoded path without dot segments that locations match and the
// static handler appends to `root`, built the way nginx's ngx_http_parse_complex_uri() does.
//
// The rules, all nginx's:
// - Each %XX is decoded once (never twice: "%252e" is the three bytes "%2e"). The decoded
//   byte then acts exactly as the raw byte would, so %2F is a real '/' (it separates
//   segments, is merged by merge_slashes, ends a ".." segment) and %2E a real '.', except
//   that a decoded '%', '#' or '?' is plain data. %00, a bad hex digit or a truncated escape
//   make the URI invalid.
// - A "." segment is dropped; ".." drops the segment before it; a ".." with nothing left to
//   drop is an error (the request gets a 400), never clamped to the root.
// - With merge_slashes, a run of '/' becomes one.
// - The path ends at the first raw '?' (the arguments follow, up to a raw '#') or raw '#'.
// - Every other byte is copied as it is, bytes >= 0x80 included: an overlong UTF-8 form such
//   as %C0%AE is two bytes, never a '.', so it cannot make a ".." segment.
// So the path starts with '/', has no "." or ".." segment and no NUL byte, and root + path
// cannot name anything outside root.
//
// The parser only calls this for URIs that need it (a '%', '#', "/." or "//" in the path, or
// an absolute-form URI with an empty path); for the others the raw path is already normal
// and is used in place.

#include <cstddef>
#include <string_view>

#include "core/status.hpp"

namespace evs::http {

struct NormalizedUri {
    std::size_t path_length = 0;  // bytes written to the output buffer
    std::string_view exten;       // the last segment's extension, inside the output; "" if none
    std::string_view args;        // after '?', inside the input; "" if none
};

// Normalises `raw`, which starts with '/' (origin form) or with '?' (an absolute-form URI
// whose path is empty, which becomes "/"), into `out`, which must have room for
// raw.size() + 1 bytes. Returns ok, or error for an invalid URI (400).
core::Status normalize_uri(std::string_view raw, char* out, bool merge_slashes,
                           NormalizedUri& result);

}  // namespace evs::http

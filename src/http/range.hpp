#pragma once

// The range filter (nginx's ngx_http_range_filter_module): a 200 response of known
// length answered as 206 with one part, as 206 multipart/byteranges with several,
// or as 416 when no range fits the file.
//
// parse_ranges() is pure (no request, no allocation) so that its cases can be
// tested one by one; apply_ranges() wires it to a request and lays out the
// multipart body as a list of small memory parts and file ranges, so that file
// bytes still go out with sendfile. Thread: the worker's loop thread.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string_view>

namespace evs::http {

struct Request;

// One satisfiable range, [start, end).
struct ByteRange {
    std::int64_t start = 0;
    std::int64_t end = 0;
};

enum class RangeParse {
    ok,             // `count` ranges, all inside the file
    declined,       // serve the whole file (200): too many ranges, overlap, "bytes=0-" of nothing
    unsatisfiable,  // 416 with "Content-Range: bytes */size"
};

// Upper bound on the ranges `value` can hold (commas + 1): the room parse_ranges needs.
std::size_t range_count_bound(std::string_view value);

// Parses the text after "bytes=" as nginx does: spaces around numbers are allowed,
// "a-b", "a-" and "-n" (a suffix) forms, ends past the file are cut to it, ranges
// that start past the end are skipped, a malformed value is unsatisfiable, more than
// `max_ranges` ranges or parts adding up to more than the file declines.
RangeParse parse_ranges(std::string_view spec, std::int64_t size, std::uint64_t max_ranges,
                        std::span<ByteRange> out, std::size_t* count);

// "bytes=" matched case-insensitively, as nginx does.
bool is_bytes_range(std::string_view value);

// The response is a 200 for a whole file of `size` bytes last modified at `mtime`:
// applies Range and If-Range. Returns 0 to send the (maybe changed) response, or a
// status to finalize with (416).
int apply_ranges(Request* r, std::int64_t size, std::time_t mtime);

}  // namespace evs::http

#include "http/range.hpp"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "event/loop.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace evs::http {

namespace {

constexpr std::int64_t k_max_offset = INT64_MAX;

bool is_digit(char ch) {
    return ch >= '0' && ch <= '9';
}

// Reads digits at `p`; false on overflow (nginx answers 416 then).
bool read_number(std::string_view spec, std::size_t& p, std::int64_t* out) {
    std::int64_t v = 0;
    while (p < spec.size() && is_digit(spec[p])) {
        const int d = spec[p] - '0';
        if (v > (k_max_offset - d) / 10) {
            return false;
        }
        v = v * 10 + d;
        ++p;
    }
    *out = v;
    return true;
}

void skip_spaces(std::string_view spec, std::size_t& p) {
    while (p < spec.size() && spec[p] == ' ') {
        ++p;
    }
}

// nginx's multipart boundary: a 20-digit zero-padded number from a per-worker
// counter, so that two responses of one worker never share a boundary.
std::uint64_t next_boundary() {
    static thread_local std::uint64_t counter = (static_cast<std::uint64_t>(::getpid()) << 20) ^
                                                static_cast<std::uint64_t>(::time(nullptr));
    return ++counter;
}

}  // namespace

bool is_bytes_range(std::string_view value) {
    if (value.size() < 7) {
        return false;
    }
    constexpr std::string_view k_bytes = "bytes=";
    for (std::size_t i = 0; i < k_bytes.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(value[i])) != k_bytes[i]) {
            return false;
        }
    }
    return true;
}

std::size_t range_count_bound(std::string_view value) {
    std::size_t n = 1;
    for (char ch : value) {
        n += ch == ',' ? 1 : 0;
    }
    return n;
}

RangeParse parse_ranges(std::string_view spec, std::int64_t size, std::uint64_t max_ranges,
                        std::span<ByteRange> out, std::size_t* count) {
    *count = 0;
    std::uint64_t left = max_ranges;
    std::int64_t total = 0;
    std::size_t p = 0;
    for (;;) {
        std::int64_t start = 0;
        std::int64_t end = 0;
        bool suffix = false;
        bool open_ended = false;
        skip_spaces(spec, p);
        if (p < spec.size() && spec[p] == '-') {
            suffix = true;
            ++p;
        } else {
            if (p >= spec.size() || !is_digit(spec[p]) || !read_number(spec, p, &start)) {
                return RangeParse::unsatisfiable;
            }
            skip_spaces(spec, p);
            if (p >= spec.size() || spec[p] != '-') {
                return RangeParse::unsatisfiable;
            }
            ++p;
            skip_spaces(spec, p);
            if (p >= spec.size() || spec[p] == ',') {
                end = size;
                open_ended = true;
            }
        }
        if (!open_ended) {
            if (p >= spec.size() || !is_digit(spec[p]) || !read_number(spec, p, &end)) {
                return RangeParse::unsatisfiable;
            }
            skip_spaces(spec, p);
            if (p < spec.size() && spec[p] != ',') {
                return RangeParse::unsatisfiable;
            }
            if (suffix) {
                start = end < size ? size - end : 0;
                end = size;
            } else {
                end = end >= size ? size : end + 1;
            }
        }
        if (start < end) {
            if (total > k_max_offset - (end - start)) {
                return RangeParse::unsatisfiable;
            }
            total += end - start;
            // One past the limit declines: nginx serves the whole file rather than
            // a cut list of what was asked.
            if (left-- == 0 || *count == out.size()) {
                return RangeParse::declined;
            }
            out[(*count)++] = ByteRange{start, end};
        } else if (start == 0) {
            // "bytes=0-" of an empty file, or "-0"... of nothing: the whole (empty) body.
            return RangeParse::declined;
        }
        if (p >= spec.size()) {
            break;
        }
        ++p;  // the comma
    }
    if (*count == 0) {
        return RangeParse::unsatisfiable;
    }
    // Overlapping ranges can ask for more than the file: a cheap way to make a
    // server send a lot, so nginx sends the file once instead.
    if (total > size) {
        return RangeParse::declined;
    }
    return RangeParse::ok;
}

namespace {

__attribute__((format(printf, 2, 3))) std::string_view print(core::Arena* arena, const char* format,
                                                             ...) {
    char text[160];
    va_list args;
    va_start(args, format);
    const int n = std::vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof(text)) {
        return {};
    }
    const char* copy = arena->copy(std::string_view(text, static_cast<std::size_t>(n)));
    return copy == nullptr ? std::string_view{}
                           : std::string_view(copy, static_cast<std::size_t>(n));
}

// The range applies only to the representation the client has: an entity tag
// (anything ending in a quote) must equal ours byte for byte, which also makes a
// weak tag never match (strong comparison); a date must equal Last-Modified.
bool if_range_allows(const Request* r, std::time_t mtime) {
    const Header* if_range = r->parser.head().find(KnownHeader::if_range);
    if (if_range == nullptr) {
        return true;
    }
    const std::string_view v = if_range->value;
    if (v.size() >= 2 && v.back() == '"') {
        return !r->etag.empty() && v == r->etag;
    }
    return mtime != -1 && parse_http_time(v) == mtime;
}

// Lays out nginx's multipart/byteranges body:
//   CRLF "--" boundary CRLF ["Content-Type: " type CRLF] "Content-Range: bytes a-b/N"
//   CRLF CRLF <bytes a..b>   (for each range)
//   CRLF "--" boundary "--" CRLF
bool set_multipart(Request* r, std::span<const ByteRange> ranges, std::int64_t size) {
    const auto boundary = static_cast<unsigned long long>(next_boundary());
    const std::string_view type = r->content_type;
    auto* parts = static_cast<OutputPart*>(
        r->arena->allocate(sizeof(OutputPart) * (ranges.size() * 2 + 1), alignof(OutputPart)));
    if (parts == nullptr) {
        return false;
    }
    std::size_t n = 0;
    std::int64_t length = 0;
    for (const ByteRange& range : ranges) {
        const std::string_view header =
            type.empty()
                ? print(r->arena, "\r\n--%020llu\r\nContent-Range: bytes %lld-%lld/%lld\r\n\r\n",
                        boundary, static_cast<long long>(range.start),
                        static_cast<long long>(range.end - 1), static_cast<long long>(size))
                : print(r->arena,
                        "\r\n--%020llu\r\nContent-Type: %.*s\r\nContent-Range: bytes "
                        "%lld-%lld/%lld\r\n\r\n",
                        boundary, static_cast<int>(type.size()), type.data(),
                        static_cast<long long>(range.start), static_cast<long long>(range.end - 1),
                        static_cast<long long>(size));
        if (header.empty()) {
            return false;
        }
        parts[n++] = OutputPart{header.data(), header.size(), 0, 0, 0};
        parts[n++] = OutputPart{nullptr, 0, 0, range.start, range.end};
        length += static_cast<std::int64_t>(header.size()) + (range.end - range.start);
    }
    const std::string_view last = print(r->arena, "\r\n--%020llu--\r\n", boundary);
    const std::string_view content_type =
        print(r->arena, "multipart/byteranges; boundary=%020llu", boundary);
    if (last.empty() || content_type.empty()) {
        return false;
    }
    parts[n++] = OutputPart{last.data(), last.size(), 0, 0, 0};
    length += static_cast<std::int64_t>(last.size());
    r->parts = parts;
    r->parts_count = n;
    r->content_type = content_type;
    r->content_length = length;
    return true;
}

}  // namespace

int apply_ranges(Request* r, std::int64_t size, std::time_t mtime) {
    const LocationConfig& loc = *r->loc;
    if (loc.max_ranges == 0) {
        r->accept_ranges = false;
        return 0;
    }
    r->accept_ranges = true;
    const Header* range = r->parser.head().find(KnownHeader::range);
    if (range == nullptr || r->parser.head().http_version < 1000 || !is_bytes_range(range->value) ||
        !if_range_allows(r, mtime)) {
        return 0;
    }
    const std::string_view spec = range->value.substr(6);
    const std::size_t bound = range_count_bound(spec);
    auto* ranges =
        static_cast<ByteRange*>(r->arena->allocate(sizeof(ByteRange) * bound, alignof(ByteRange)));
    if (ranges == nullptr) {
        return 500;
    }
    std::size_t count = 0;
    switch (parse_ranges(spec, size, loc.max_ranges, std::span(ranges, bound), &count)) {
        case RangeParse::declined:
            return 0;
        case RangeParse::unsatisfiable:
            r->content_range = print(r->arena, "bytes */%lld", static_cast<long long>(size));
            return 416;
        case RangeParse::ok:
            break;
    }
    // nginx sends Accept-Ranges only with the whole file.
    r->accept_ranges = false;
    r->status = 206;
    if (count == 1) {
        r->content_range =
            print(r->arena, "bytes %lld-%lld/%lld", static_cast<long long>(ranges[0].start),
                  static_cast<long long>(ranges[0].end - 1), static_cast<long long>(size));
        r->file_pos = ranges[0].start;
        r->file_end = ranges[0].end;
        r->content_length = ranges[0].end - ranges[0].start;
        return 0;
    }
    if (!set_multipart(r, std::span<const ByteRange>(ranges, count), size)) {
        return 500;
    }
    r->file_pos = r->file_end = 0;  // the file goes out through the parts
    return 0;
}

}  // namespace evs::http

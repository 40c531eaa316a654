// libFuzzer target for the HTTP request parser.
//
// The first byte picks the parser settings and where to cut the input; the rest is the byte
// stream a client sends. Besides memory errors (the target runs under ASan and UBSan), it
// traps when a property the connection layer relies on fails:
//   - the outcome is the same whole, split in two, byte by byte, and with the unfinished
//     line moved to a new buffer after each read (rebase);
//   - a parsed path starts with '/', has no "." or ".." segment and no NUL, so root + path
//     stays inside root;
//   - the parser's fast path for simple URIs agrees with normalize_uri() on the raw URI;
//   - the host is lowercase and free of '/' and "..";
//   - a chunked body after the head decodes to the same data however it is split.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "../unit/http/parser_harness.hpp"
#include "http/chunked_parser.hpp"
#include "http/uri.hpp"

namespace {

using evs::core::Status;
using namespace evs::http;

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

bool path_is_safe(std::string_view path) {
    if (path.empty() || path[0] != '/' || path.find('\0') != std::string_view::npos) {
        return false;
    }
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        const std::string_view segment = path.substr(start, end - start);
        if (segment == "." || segment == "..") {
            return false;
        }
        start = end + 1;
    }
    return true;
}

void check_head(const RequestHead& h, const ParserSettings& settings) {
    check(path_is_safe(h.path));
    for (char c : h.host) {
        check(!(c >= 'A' && c <= 'Z') && c != '/');
    }
    check(h.host.find("..") == std::string_view::npos);
    check(!(h.chunked && h.content_length >= 0));
    check(h.http_version == 9 || h.http_version >= 1000);

    // The fast path (a view into the request line) and the full normalisation must agree.
    std::string out(h.unparsed_uri.size() + 1, '\0');
    NormalizedUri n;
    check(normalize_uri(h.unparsed_uri, out.data(), settings.merge_slashes, n) == Status::ok);
    check(std::string_view(out.data(), n.path_length) == h.path);
    check(n.exten == h.exten);
    check(n.args == h.args);
}

// Decodes `body` in reads ending at `first_cut` (then at the end), or byte by byte.
std::string decode_chunked(std::string_view body, std::size_t first_cut, bool byte_by_byte) {
    ChunkedParser parser;
    std::string result;
    std::size_t pos = 0;
    Status s = Status::again;
    std::size_t end = byte_by_byte ? std::min<std::size_t>(1, body.size()) : first_cut;
    for (;;) {
        const std::string_view received = body.substr(0, end);
        for (;;) {
            std::string_view data;
            s = parser.parse(received, pos, data);
            if (s != Status::ok) {
                break;
            }
            check(!data.empty());
            result += data;
        }
        if (s != Status::again || end == body.size()) {
            break;
        }
        end = byte_by_byte ? end + 1 : body.size();
    }
    return result + "|status=" + std::to_string(static_cast<int>(s)) +
           "|end=" + std::to_string(pos) + "|http=" + std::to_string(parser.status());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t control = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const ParserSettings settings{(control & 1) == 0, (control & 2) != 0, (control & 4) == 0};
    const std::size_t cut =
        input.empty() ? 0 : (static_cast<std::size_t>(control >> 3) * 131u) % input.size();

    test::ParseRun whole(settings, 16);
    test::feed(whole, input, {}, false);
    const std::string expected = whole.summary();

    {
        test::ParseRun split(settings, 16);
        test::feed(split, input, {cut}, false);
        check(split.summary() == expected);
    }
    {
        test::ParseRun moved(settings, 16);
        test::feed(moved, input, {cut, cut + (input.size() - cut) / 2}, true);
        check(moved.summary() == expected);
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < input.size(); ++i) {
        every.push_back(i);
    }
    {
        test::ParseRun bytes(settings, 16);
        test::feed(bytes, input, every, false);
        check(bytes.summary() == expected);
    }
    if (input.size() <= 512) {
        test::ParseRun bytes_moved(settings, 16);
        test::feed(bytes_moved, input, every, true);
        check(bytes_moved.summary() == expected);
    }

    if (whole.status == Status::ok) {
        const RequestHead& h = whole.parser.head();
        check(whole.parser.consumed() <= input.size());
        check(h.headers.size() <= 16);
        check_head(h, settings);
        if (h.chunked) {
            const std::string_view body = input.substr(whole.parser.consumed());
            const std::string decoded = decode_chunked(body, body.size(), false);
            check(decode_chunked(body, cut % (body.size() + 1), false) == decoded);
            if (body.size() <= 2048) {
                check(decode_chunked(body, 0, true) == decoded);
            }
        }
    } else if (whole.status == Status::error) {
        check(whole.parser.error() != ParseError::none);
        check(whole.parser.status() >= 400);
    }
    return 0;
}

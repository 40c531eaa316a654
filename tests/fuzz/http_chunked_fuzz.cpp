// libFuzzer target for the chunked request-body decoder.
//
// The first two bytes choose a size limit (client_max_body_size) and a cut; the rest is the
// body. Besides memory errors it traps when the decoded data or the outcome depend on how
// the body was split (whole, in two, byte by byte), when a data view is empty or not inside
// the input, or when more data comes out than the limit allows.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/chunked_parser.hpp"

namespace {

using evs::core::Status;
using evs::http::ChunkedParser;

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

std::string decode(std::string_view body, std::int64_t limit, std::size_t first_cut,
                   bool byte_by_byte) {
    ChunkedParser parser(limit);
    std::string out;
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
            check(data.data() >= received.data() &&
                  data.data() + data.size() <= received.data() + received.size());
            out += data;
        }
        check(s != Status::again || pos == received.size());
        if (s != Status::again || end == body.size()) {
            break;
        }
        end = byte_by_byte ? end + 1 : body.size();
    }
    if (limit > 0) {
        check(static_cast<std::int64_t>(out.size()) <= limit);
    }
    check(parser.body_size() >= static_cast<std::int64_t>(out.size()));
    return out + "|" + std::to_string(static_cast<int>(s)) + "|" + std::to_string(pos) + "|" +
           std::to_string(parser.status());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::int64_t limit = data[0] < 128 ? 0 : (data[0] - 127) * 4;
    const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
    const std::size_t cut = body.empty() ? 0 : data[1] % (body.size() + 1);

    const std::string whole = decode(body, limit, body.size(), false);
    check(decode(body, limit, cut, false) == whole);
    if (body.size() <= 4096) {
        check(decode(body, limit, 0, true) == whole);
    }
    return 0;
}

#pragma once

// ChunkedParser: decodes a "Transfer-Encoding: chunked" request body incrementally, with the
// strict framing of current nginx (ngx_http_parse_chunked): hex sizes, extensions after ';'
// (or a space or tab) skipped, CRLF required after every size line and every chunk (a bare
// LF is an error), trailer lines read and ignored.
//
// The caller hands in whatever bytes have arrived; the parser returns the chunk data as views
// into them (no copy), so reading a body into a file and discarding one are the same loop:
//
//     std::size_t pos = 0;
//     std::string_view data;
//     for (;;) {
//         Status s = chunked.parse(input, pos, data);
//         if (s == Status::ok) { use(data); continue; }   // more may follow in `input`
//         break;  // again: read more; done: body over, input[pos..] is the next request;
//                 // error: answer chunked.status() (400, or 413 past the size limit)
//     }
//
// The data views, concatenated, do not depend on how the body was split across reads.
// Ownership: owns only its state. Thread: the connection's loop thread only.

#include <cstdint>
#include <string_view>

#include "core/status.hpp"

namespace evs::http {

class ChunkedParser {
public:
    // max_body_size: client_max_body_size; 0 means no limit. A chunk that would take the
    // body past it is refused with 413 as soon as its size line is read, as nginx does.
    explicit ChunkedParser(std::int64_t max_body_size = 0) : max_body_size_(max_body_size) {}

    void reset();
    void set_max_body_size(std::int64_t size) { max_body_size_ = size; }

    // Parses input[pos..]. ok: `data` holds the next piece of chunk data (never empty) and
    // pos is past it. again: pos == input.size(). done: pos is just past the body.
    // error: the body is malformed or too large; see status().
    core::Status parse(std::string_view input, std::size_t& pos, std::string_view& data);

    std::int64_t body_size() const { return body_size_; }  // data bytes announced so far
    int status() const { return status_; }                 // 400 or 413 after an error
    bool done() const;

private:
    enum class State : std::uint8_t {
        chunk_start,
        chunk_size,
        chunk_extension,
        chunk_extension_almost_done,
        chunk_data,
        after_data,
        after_data_almost_done,
        last_chunk_extension,
        last_chunk_extension_almost_done,
        trailer,
        trailer_almost_done,
        trailer_header,
        trailer_header_almost_done,
        done,
        failed,
    };

    core::Status fail(int status);

    State state_ = State::chunk_start;
    std::int64_t size_ = 0;       // the current chunk's size, then what is left of its data
    std::int64_t body_size_ = 0;  // sum of the sizes of the chunks started so far
    std::int64_t max_body_size_;
    int status_ = 0;
};

}  // namespace evs::http

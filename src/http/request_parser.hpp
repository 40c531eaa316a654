#pragma once

// RequestParser: the HTTP/1.x request line and header lines, parsed incrementally from the
// connection's buffer with nginx's rules and status codes.
//
// How the connection layer drives it (nginx's ngx_http_process_request_line/_headers):
//
//     buf: [ ...bytes already parsed... | new bytes ]            parse(buf, len)
//           0                     consumed()        len
//
//   - Read into the buffer and call parse(buf, len) with the same `buf` and a growing `len`.
//     The parser resumes at consumed(); it never reads beyond len, never writes the buffer,
//     and never copies the request line or a header: results are views into the buffer.
//   - again: every byte so far is consumed (consumed() == len) and the head is not complete.
//     If the buffer is full, the unfinished line from element_start() to len must move to a
//     large_client_header_buffers buffer: if it is already as long as such a buffer, or none
//     is left, answer fail_overflow() (414 in the request line, 494 in a header line, both
//     nginx's). Otherwise copy it to the start of the new buffer, call rebase(element_start())
//     and continue with parse(new_buf, len - element_start()). Between two lines there is
//     nothing to move (element_start() == consumed()).
//   - ok: the head is complete; head() holds the result and consumed() is the offset of the
//     first byte after it (a body, or a pipelined request).
//   - error: error() says why, status_of(error()) what to answer. The parser stays failed.
//
// The views of finished lines keep pointing into the buffer they were parsed in, so the
// connection keeps every header buffer of the request alive, as nginx keeps its busy large
// buffers. The result does not depend on how the bytes were split across reads: the state
// says everything about the bytes before consumed(), and a line is interpreted only once it
// is complete (the unit tests and the fuzz target check this at every split).
//
// Ownership: the parser owns its state and the RequestHead; it borrows the header storage,
// the allocator and the buffers. Thread: the connection's loop thread only.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/status.hpp"
#include "http/header.hpp"
#include "http/parse_error.hpp"
#include "http/request_head.hpp"

namespace evs::http {

// The per-server directives that change parsing.
struct ParserSettings {
    bool ignore_invalid_headers = true;
    bool underscores_in_headers = false;
    bool merge_slashes = true;
};

// Memory for the two results that cannot point into the buffer: a decoded path and a
// lowercased host. It must live as long as the request (the request's arena).
struct ParserAllocator {
    void* (*allocate)(void* context, std::size_t size) = nullptr;
    void* context = nullptr;
};

// Called once, as soon as the virtual host is known (from an absolute-form request line or
// from the Host header). The connection layer picks the server block and may change
// `settings`; they apply from the next header line on, as nginx switches to the named
// server's configuration in the middle of the headers.
using HostHook = void (*)(void* context, std::string_view host, ParserSettings& settings);

class RequestParser {
public:
    // `header_storage` bounds the number of header lines kept (more is a 494; at most 65535
    // are used).
    RequestParser(std::span<Header> header_storage, ParserAllocator allocator,
                  ParserSettings settings = {});

    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    void set_host_hook(HostHook hook, void* context) {
        host_hook_ = hook;
        host_hook_context_ = context;
    }

    // Starts over for a new request, keeping storage, allocator and hook, and going back to
    // the settings given to the constructor.
    void reset();

    core::Status parse(const char* buf, std::size_t len);

    const RequestHead& head() const { return head_; }
    ParseError error() const { return error_; }
    int status() const { return status_of(error_); }

    // The offset of the first byte not parsed yet; after ok, the first byte after the head.
    // After an error, the offending byte.
    std::size_t consumed() const { return pos_; }
    // The offset of the first byte that must survive a move to a larger buffer.
    std::size_t element_start() const;
    // Whether the parser is still in the request line (else in the header lines).
    bool in_request_line() const;
    // Where the request line starts in the buffer (meaningful once it has begun): the
    // access log's $request for a request that failed or broke off within its line.
    std::size_t request_start() const { return request_start_; }
    // Whether nothing of the request line or a header line is pending.
    bool between_lines() const;

    // The caller moved the bytes from `offset` on (offset <= element_start()) to the start
    // of a new buffer: shift what the parser remembers accordingly.
    void rebase(std::size_t offset);

    // The buffer is full and the pending line cannot grow: records uri_too_long or
    // header_too_large and returns error.
    core::Status fail_overflow();

private:
    // One state per position in the grammar, as in nginx: a read may stop anywhere, and the
    // state alone (with the offsets below) says how to go on.
    enum class State : std::uint8_t {
        start,  // before the method; CR and LF here are skipped
        method,
        spaces_before_uri,
        schema,
        schema_slash,
        schema_slash_slash,
        host_start,
        host,
        host_ip_literal,
        host_end,
        port,
        after_slash_in_uri,  // right after a '/': "." or "/" here makes the URI complex
        check_uri,           // inside a plain segment
        uri,                 // past what matters for the fast path (escape, '#', arguments)
        http_09,             // spaces after the URI: "HTTP/", or the end of an HTTP/0.9 line
        http_h,
        http_ht,
        http_htt,
        http_http,
        first_major_digit,
        major_digit,
        first_minor_digit,
        minor_digit,
        spaces_after_digit,
        almost_done,  // CR seen at the end of the request line
        header_start,
        header_name,
        space_before_value,
        header_value,
        header_almost_done,   // CR seen at the end of a header line
        headers_almost_done,  // CR of the empty line that ends the head
        done,
        failed,
    };

    // The two halves of the state machine; each consumes bytes from pos_ up to len.
    core::Status parse_request_line(const unsigned char* p, std::size_t len);
    core::Status parse_header_lines(const unsigned char* p, std::size_t len);

    core::Status fail(ParseError error, std::size_t at);
    core::Status finish_request_line(std::size_t lf);
    core::Status finish_header_line(std::size_t lf);
    core::Status finish_headers(std::size_t lf);
    bool set_host(std::string_view name, bool lowercase);
    char* allocate(std::size_t size);

    static constexpr std::size_t k_none = static_cast<std::size_t>(-1);

    std::span<Header> storage_;
    ParserAllocator allocator_;
    ParserSettings initial_settings_;  // restored by reset()
    ParserSettings settings_;          // as changed by the host hook
    HostHook host_hook_ = nullptr;
    void* host_hook_context_ = nullptr;

    const char* base_ = nullptr;
    std::size_t pos_ = 0;
    State state_ = State::start;
    ParseError error_ = ParseError::none;

    // Request line, offsets into the current buffer.
    std::size_t request_start_ = 0;
    std::size_t method_end_ = k_none;
    std::size_t schema_start_ = k_none;
    std::size_t schema_end_ = k_none;
    std::size_t host_start_ = k_none;
    std::size_t host_end_ = k_none;
    std::size_t uri_start_ = k_none;
    std::size_t uri_end_ = k_none;
    std::size_t uri_ext_ = k_none;
    std::size_t args_start_ = k_none;
    std::size_t protocol_start_ = k_none;
    std::size_t request_end_ = k_none;
    int http_major_ = 0;
    int http_minor_ = 0;
    bool complex_uri_ = false;  // "/.", "//" or '#': dot segments or merging to do
    bool quoted_uri_ = false;   // '%': escapes to decode
    bool empty_path_ = false;   // "http://host?args"

    // Current header line.
    std::size_t name_start_ = 0;
    std::size_t name_end_ = 0;
    std::size_t value_start_ = 0;
    std::size_t value_end_ = 0;
    bool invalid_header_ = false;

    std::size_t header_count_ = 0;
    RequestHead head_;
};

}  // namespace evs::http

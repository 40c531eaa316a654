#pragma once

// The HTTP side of a connection and of one request on it.
//
// HttpConnection lives in a per-worker array indexed by the connection's slot, so
// accepting allocates nothing. Between requests it holds at most the buffer with
// pipelined bytes; an idle keepalive connection holds no buffer and no arena.
//
// A Request, its parser and everything it allocates live in an arena taken from
// a per-worker cache when the request head starts arriving and given back when
// the response is done (nginx's r->pool).
//
// The pipeline (nginx's ngx_http_wait_request_handler, process_request_line,
// process_request_headers, the static handler and the write filter):
//   accept -> wait for bytes (header timer, no buffer yet) -> read into
//   client_header_buffer_size, moving an unfinished line to a large buffer when
//   it does not fit -> parse -> server by Host -> location -> handler -> response
//   head and body (writev, sendfile) -> access log -> keepalive or close.
// Thread: the worker's loop thread.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/arena.hpp"
#include "core/log.hpp"
#include "event/connection.hpp"
#include "http/chunked_parser.hpp"
#include "http/config.hpp"
#include "http/regex.hpp"
#include "http/request_parser.hpp"
#include "http/virtual_servers.hpp"

namespace evs::http {

struct Request;
struct FileReadState;    // http/file_read.cpp
struct ThreadSendState;  // http/thread_sendfile.cpp

struct HttpConnection {
    const ListenGroup* group = nullptr;
    const AddressServers* address = nullptr;
    char* buffer = nullptr;  // client_header_buffer_size, or a larger one for pipelining
    std::size_t buffer_size = 0;
    std::size_t buffer_len = 0;  // bytes received and not yet given to a request
    Request* request = nullptr;
    core::Arena* arena = nullptr;
    core::Msec start = 0;              // for keepalive_time
    core::Msec lingering_timeout = 0;  // during a lingering close, when the request is gone
    std::uint32_t requests = 0;
    bool tcp_nodelay_set = false;  // set once per connection, not per request
    bool lame_duck = false;        // the worker is exiting; serve one more request at most
};

// One part of a body laid out ahead of time (a multipart/byteranges response):
// memory (`mem`, `len`) or, when `mem` is nullptr, the file range [file_pos, file_end)
// of the request's fd. `sent` and `file_pos` advance as the part goes out.
struct OutputPart {
    const char* mem = nullptr;
    std::size_t len = 0;
    std::size_t sent = 0;
    off_t file_pos = 0;
    off_t file_end = 0;
};

struct Request {
    static constexpr std::size_t k_max_headers = 100;
    static constexpr std::size_t k_max_large_buffers = 16;
    static constexpr int k_max_redirects = 10;

    Request(event::Connection* conn, HttpConnection* http, core::Arena* a,
            const ParserSettings& settings);

    event::Connection* c;
    HttpConnection* hc;
    core::Arena* arena;
    Header header_storage[k_max_headers];
    RequestParser parser;

    // The buffer being parsed: hc->buffer at first, then large buffers.
    char* buf = nullptr;
    std::size_t len = 0;
    std::size_t cap = 0;
    std::size_t large_used = 0;

    ServerConfig* server = nullptr;
    LocationConfig* loc = nullptr;
    std::string_view uri;    // the normalised path, changed by internal redirects
    Captures captures;       // of the last regex with groups (server name or location)
    Captures host_captures;  // of the regex server name that chose the server
    // The arguments ($args): the request's, replaced by an internal redirect to a URI
    // with its own (try_files, error_page), as nginx's r->args.
    std::string_view args;
    // The method the handlers see: GET after error_page redirects a POST (nginx).
    Method method = Method::get;
    int redirects = 0;        // internal redirects so far (nginx's uri_changes, counted up)
    bool internal = false;    // reached by an internal redirect: `internal` locations serve it
    bool error_page = false;  // error_page was applied (recursive_error_pages off: no more)
    // The status the response goes out with whatever the handler says: the error that
    // error_page redirected for (nginx's r->err_status); 0 keeps the handler's.
    int err_status = 0;

    // The response.
    int status = 0;
    std::string_view content_type;
    std::int64_t content_length = -1;
    std::time_t last_modified = -1;
    std::string_view last_modified_text;  // preformatted (open file cache), else empty
    std::string_view etag;
    std::string_view location_header;
    std::string_view content_range;
    bool keepalive = false;
    bool header_only = false;  // HEAD, 304
    bool accept_ranges = false;

    // The output: the head, a memory body, a file range.
    const char* head = nullptr;
    std::size_t head_len = 0;
    std::size_t head_sent = 0;
    const char* mem = nullptr;
    std::size_t mem_len = 0;
    std::size_t mem_sent = 0;
    int fd = -1;
    off_t file_pos = 0;
    off_t file_end = 0;
    char* file_buf = nullptr;  // without sendfile: the part of the file read so far
    std::size_t file_buf_len = 0;
    std::size_t file_buf_sent = 0;
    bool use_sendfile = false;
    // Instead of mem and the file range: the parts of a multipart body, in order.
    OutputPart* parts = nullptr;
    std::size_t parts_count = 0;
    std::size_t part_index = 0;  // the first part not completely sent
    // The whole file in memory (from the open file cache), indexed by file offsets:
    // the file part goes out from here with the head in one writev().
    const char* file_mem = nullptr;
    bool corked = false;  // tcp_nopush: TCP_CORK is on until the response ends
    // How file parts are read when they are not sent with sendfile (http/file_read.hpp):
    // null until the first read. `directio`: the descriptor is O_DIRECT (directio), so
    // the file is never sent with sendfile.
    FileReadState* file_read = nullptr;
    bool directio = false;
    // aio threads with sendfile: the pool's operation, null until the first send
    // (http/thread_sendfile.hpp).
    ThreadSendState* thread_send = nullptr;
    // limit_rate: the write event's timer is a deliberate delay, not send_timeout.
    bool rate_delayed = false;

    // The request body, read and discarded.
    std::int64_t body_left = 0;
    ChunkedParser* chunked = nullptr;
    bool body_done = true;
    std::size_t body_in_buffer = 0;  // body bytes that arrived with the head
    bool body_buffer_seen = false;   // body_in_buffer has been counted
    // Bytes read from the socket after a chunked body: the next pipelined request.
    const char* tail = nullptr;
    std::size_t tail_len = 0;

    core::Msec discard_deadline = 0;  // lingering_time for a body read after the response
    bool expect_tested = false;       // "100 Continue" was sent, or must not be (413)

    // Which stub_status gauge this request counts in: reading while its head
    // arrives, writing from then until it is freed (nginx's r->stat_reading/writing).
    bool stat_reading = false;
    bool stat_writing = false;

    core::Msec start_msec = 0;
    std::uint64_t start_sent = 0;
    std::size_t request_length = 0;
};

// Handlers of the request pipeline, used across files.
void close_http_connection(event::Connection* c);
// A timeout ended the request: with reset_timedout_connection the close sends RST.
void close_timed_out_connection(event::Connection* c);
void log_conn(event::Connection* c, core::LogLevel level, int err, const char* text);
core::Status discard_body(Request* r);  // ok once the whole request body is read
void response_sent(Request* r);         // the writer finished: log, then keepalive or close
// Whether the client may have sent bytes not read yet (the rest of the body, bytes
// after the request, a socket not known to be drained): closing then would reset the
// connection, so a closing response ends with lingering close instead.
bool input_left(const Request* r);
bool worker_exiting();
void finalize_request(Request* r, int status);        // status 0: the response is set up
inline constexpr int k_close_without_response = 444;  // nginx's non-standard "return 444"
void send_response(Request* r);                       // renders the head, starts writing
void send_parts(Request* r);                          // send_response's writer for r->parts
// An internal redirect to `uri` (index, try_files, error_page): the location is
// chosen again. The first form keeps the arguments, the second replaces them. More than
// Request::k_max_redirects redirects end the request with 500, as in nginx.
void internal_redirect(Request* r, std::string_view uri);
void internal_redirect(Request* r, std::string_view uri, std::string_view args);
// To a named location ("@fallback"): its handlers run without a new lookup.
void named_location(Request* r, std::string_view name);

// The content handlers.
void static_handler(Request* r);
void return_handler(Request* r);

// Appends nginx's error-log context for a request: ", client: 127.0.0.1, server:
// localhost, request: "GET / HTTP/1.1", host: "localhost"" (a core::Log::ContextFn).
std::size_t request_log_context(const void* request, char* buf, std::size_t size);

// access_log: writes this request's line to every log of its location.
void log_request(Request* r);

}  // namespace evs::http

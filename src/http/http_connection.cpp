#include "http/http_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "event/io.hpp"
#include "event/listening.hpp"
#include "event/loop.hpp"
#include "http/error_pages.hpp"
#include "http/open_file_cache.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/status_page.hpp"
#include "http/try_files.hpp"

namespace evs::http {

using core::LogLevel;
using event::Connection;
using event::Event;

namespace {

// Per-worker state: connection records by slot, and caches of header buffers and
// arenas so that the steady state of a keepalive workload never calls malloc.
struct WorkerCaches {
    std::vector<HttpConnection> connections;
    std::vector<std::pair<std::size_t, char*>> buffers;  // (size, buffer), LIFO
    std::vector<core::Arena*> arenas;
};

thread_local WorkerCaches g_caches;
thread_local bool g_exiting = false;

constexpr std::size_t k_cached_buffers = 256;
constexpr std::size_t k_cached_arenas = 256;

char* get_buffer(std::size_t size) {
    auto& cache = g_caches.buffers;
    for (std::size_t i = cache.size(); i-- > 0;) {
        if (cache[i].first == size) {
            char* b = cache[i].second;
            cache[i] = cache.back();
            cache.pop_back();
            return b;
        }
    }
    return static_cast<char*>(std::malloc(size));
}

void put_buffer(char* b, std::size_t size) {
    if (b == nullptr) {
        return;
    }
    if (g_caches.buffers.size() < k_cached_buffers) {
        g_caches.buffers.emplace_back(size, b);
    } else {
        std::free(b);
    }
}

core::Arena* get_arena() {
    if (!g_caches.arenas.empty()) {
        core::Arena* a = g_caches.arenas.back();
        g_caches.arenas.pop_back();
        return a;
    }
    return new core::Arena(8192);
}

void put_arena(core::Arena* a) {
    a->reset();
    if (g_caches.arenas.size() < k_cached_arenas) {
        g_caches.arenas.push_back(a);
    } else {
        delete a;
    }
}

HttpConnection* http_of(Connection* c) {
    return static_cast<HttpConnection*>(c->data);
}

ServerConfig& default_server(HttpConnection* hc) {
    return *hc->address->default_server;
}

void empty_handler(Event*) {}

// Nothing is read while a request is being answered, but a worker that gives up on
// its connections (worker_shutdown_timeout) sets c->close and calls the read
// handler: the request ends there, as in nginx's ngx_http_request_handler().
void responding_read_handler(Event* rev) {
    Connection* c = event::connection_of(rev);
    if (c->close) {
        close_http_connection(c);
    }
}

// Ends the request on `hc` (nginx's ngx_http_free_request): its gauge, then its
// memory. A connection that timed out is reset here when its location asks for it.
void free_request(HttpConnection* hc) {
    Request* r = hc->request;
    if (r != nullptr) {
        event::Loop& loop = *r->c->loop;
        if (r->stat_reading) {
            loop.add_gauge(&event::ConnectionStats::reading, -1);
        }
        if (r->stat_writing) {
            loop.add_gauge(&event::ConnectionStats::writing, -1);
        }
        const LocationConfig* loc = r->loc != nullptr      ? r->loc
                                    : r->server != nullptr ? &r->server->location
                                                           : nullptr;
        if (r->c->timedout && loc != nullptr && loc->reset_timedout_connection) {
            // SO_LINGER {on, 0}: close() sends RST and drops what is still queued,
            // instead of the socket lingering in FIN_WAIT with a full send buffer.
            const linger reset{1, 0};
            ::setsockopt(r->c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        }
        r->~Request();
        hc->request = nullptr;
    }
    if (hc->arena != nullptr) {
        put_arena(hc->arena);
        hc->arena = nullptr;
    }
}

}  // namespace

void close_http_connection(Connection* c) {
    HttpConnection* hc = http_of(c);
    free_request(hc);
    put_buffer(hc->buffer, hc->buffer_size);
    hc->buffer = nullptr;
    hc->buffer_len = 0;
    c->loop->close_connection(c);
}

void close_timed_out_connection(Connection* c) {
    c->timedout = 1;
    close_http_connection(c);
}

void log_conn(Connection* c, LogLevel level, int err, const char* text) {
    core::Log& log = c->loop->log();
    if (log.enabled(level)) {
        const std::string peer = [&] {
            os::SocketAddress a;
            std::memcpy(&a.storage, &c->peer.addr, sizeof(c->peer.addr));
            a.length = c->peer.length;
            return a.family() == AF_UNIX ? std::string("unix:") : a.to_string(false);
        }();
        log.write_conn(level, err, c->number, nullptr, nullptr, "%s, client: %s", text,
                       peer.c_str());
    }
}

namespace {

void wait_request_handler(Event* rev);
void read_head_handler(Event* rev);
void start_request(Connection* c);
void parse_head(Request* r);
void process_uri(Request* r);
void log_unfinished(Request* r, int status);
void take_parsed_line(Request* r);

void set_keepalive(Request* r);
void lingering_close(Request* r);
void discarding_body_handler(Event* rev);

// The host hook: the server is chosen as soon as the host is known, and its
// parsing settings apply from the next header line on.
void on_host(void* context, std::string_view host, ParserSettings& settings) {
    auto* r = static_cast<Request*>(context);
    // A regex server name's groups stay for the request ($1, $name); a location regex
    // with groups replaces the positional ones later, as in nginx.
    r->host_captures = Captures{};
    r->server = find_server(*r->hc->address, host, r->arena, &r->host_captures);
    r->captures = r->host_captures;
    settings.ignore_invalid_headers = r->server->ignore_invalid_headers;
    settings.underscores_in_headers = r->server->underscores_in_headers;
    settings.merge_slashes = r->server->merge_slashes;
}

void* arena_allocate(void* context, std::size_t size) {
    return static_cast<core::Arena*>(context)->allocate(size, 1);
}

}  // namespace

Request::Request(Connection* conn, HttpConnection* http, core::Arena* a,
                 const ParserSettings& settings)
    : c(conn),
      hc(http),
      arena(a),
      parser(std::span<Header>(header_storage, k_max_headers), ParserAllocator{arena_allocate, a},
             settings) {}

std::size_t request_log_context(const void* request, char* buf, std::size_t size) {
    const auto* r = static_cast<const Request*>(request);
    const RequestHead& head = r->parser.head();
    os::SocketAddress peer;
    std::memcpy(&peer.storage, &r->c->peer.addr, sizeof(r->c->peer.addr));
    peer.length = r->c->peer.length;
    const std::string client = peer.family() == AF_UNIX ? "unix:" : peer.to_string(false);
    const std::string_view server =
        r->server != nullptr && !r->server->names.empty() ? r->server->names.front() : "";
    int n = std::snprintf(buf, size, ", client: %s, server: %.*s", client.c_str(),
                          static_cast<int>(server.size()), server.data());
    if (n > 0 && static_cast<std::size_t>(n) < size && !head.request_line.empty()) {
        n += std::snprintf(buf + n, size - static_cast<std::size_t>(n), ", request: \"%.*s\"",
                           static_cast<int>(head.request_line.size()), head.request_line.data());
    }
    if (n > 0 && static_cast<std::size_t>(n) < size && !head.host.empty()) {
        n += std::snprintf(buf + n, size - static_cast<std::size_t>(n), ", host: \"%.*s\"",
                           static_cast<int>(head.host.size()), head.host.data());
    }
    return n < 0 ? 0 : std::min(size, static_cast<std::size_t>(n));
}

void init_connection(Connection* c) {
    auto* group = static_cast<const ListenGroup*>(c->listening->data);
    event::Loop& loop = *c->loop;
    if (g_caches.connections.size() < loop.pool().capacity()) {
        g_caches.connections.resize(loop.pool().capacity());
    }
    HttpConnection* hc = &g_caches.connections[c->index];
    *hc = HttpConnection{};
    hc->group = group;
    if (group->addresses.size() > 1) {
        // Several addresses share this wildcard socket: which one did the client reach?
        sockaddr_storage local{};
        socklen_t len = sizeof(local);
        const bool known = ::getsockname(c->fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
        hc->address =
            find_address(*group, known ? reinterpret_cast<sockaddr*>(&local) : nullptr, len);
    } else {
        hc->address = &group->addresses.front();
    }
    hc->start = loop.time().msec();
    c->data = hc;
    c->read.handler = wait_request_handler;
    c->write.handler = empty_handler;

    if (c->read.ready) {
        // Deferred accept: the request is already there, so read it now, as nginx
        // does. No header timer and no place in the reusable queue yet: most such
        // connections are answered before this returns, and one that turns out to
        // have nothing to read gets both when its recv() says EAGAIN. A worker that
        // holds the accept mutex posts instead, to release the mutex sooner.
        if (loop.accept_mutex_held()) {
            loop.post(&c->read);
        } else {
            wait_request_handler(&c->read);
        }
        return;
    }
    loop.add_timer(&c->read, default_server(hc).client_header_timeout);
    loop.pool().set_reusable(c, true);
    if (loop.handle_read_event(&c->read) != core::Status::ok) {
        close_http_connection(c);
    }
}

namespace {

// Waiting for a first request, or for the next one on a keepalive connection:
// nothing is allocated until bytes arrive.
void wait_request_handler(Event* rev) {
    Connection* c = event::connection_of(rev);
    HttpConnection* hc = http_of(c);
    if (rev->timedout) {
        log_conn(c, LogLevel::info, ETIMEDOUT, "client timed out");
        close_http_connection(c);
        return;
    }
    if (c->close) {
        if (!g_exiting || hc->lame_duck) {
            close_http_connection(c);
            return;
        }
        // Graceful shutdown: a request may be on its way; answer it if it comes soon.
        c->close = 0;
        hc->lame_duck = true;
        c->loop->add_timer(rev, k_lame_duck_msec);
        if (!rev->ready) {
            return;
        }
    }
    const std::size_t size = default_server(hc).client_header_buffer_size;
    if (hc->buffer == nullptr) {
        hc->buffer = get_buffer(size);
        hc->buffer_size = size;
        hc->buffer_len = 0;
        if (hc->buffer == nullptr) {
            close_http_connection(c);
            return;
        }
    }
    const ssize_t n = event::recv(c, hc->buffer + hc->buffer_len, hc->buffer_size - hc->buffer_len);
    if (n == event::k_io_again) {
        if (hc->buffer_len == 0) {
            // An idle connection keeps no buffer.
            put_buffer(hc->buffer, hc->buffer_size);
            hc->buffer = nullptr;
        }
        if (!rev->timer_set) {
            // A deferred accept that found nothing to read (the kernel hands such a
            // connection over once TCP_DEFER_ACCEPT's time is up): now it waits.
            c->loop->add_timer(rev, default_server(hc).client_header_timeout);
            c->loop->pool().set_reusable(c, true);
        }
        if (c->loop->handle_read_event(rev) != core::Status::ok) {
            close_http_connection(c);
        }
        return;
    }
    if (n <= 0) {
        if (n == event::k_io_error) {
            log_conn(c, LogLevel::info, errno, "recv() failed");
        }
        close_http_connection(c);
        return;
    }
    hc->buffer_len += static_cast<std::size_t>(n);
    start_request(c);
}

void start_request(Connection* c) {
    HttpConnection* hc = http_of(c);
    c->loop->pool().set_reusable(c, false);
    hc->arena = get_arena();
    ServerConfig& srv = default_server(hc);
    ParserSettings settings;
    settings.ignore_invalid_headers = srv.ignore_invalid_headers;
    settings.underscores_in_headers = srv.underscores_in_headers;
    settings.merge_slashes = srv.merge_slashes;
    Request* r = hc->arena->make<Request>(c, hc, hc->arena, settings);
    if (r == nullptr) {
        close_http_connection(c);
        return;
    }
    hc->request = r;
    // Until the Host header (or an absolute URI) names one, the request belongs to
    // the address's default server: errors found before that are answered by it.
    r->server = &srv;
    r->parser.set_host_hook(on_host, r);
    r->buf = hc->buffer;
    r->len = hc->buffer_len;
    r->cap = hc->buffer_size;
    r->start_msec = c->loop->time().msec();
    r->start_sent = c->sent;
    c->read.handler = read_head_handler;
    r->stat_reading = true;
    c->loop->add_gauge(&event::ConnectionStats::reading, 1);
    ++c->requests;
    event::stat_add<std::uint64_t>(c->loop->server_stats().requests, 1);
    if (&c->loop->worker_stats() != &c->loop->server_stats()) {
        event::stat_add<std::uint64_t>(c->loop->worker_stats().requests, 1);
    }
    parse_head(r);
}

void read_head_handler(Event* rev) {
    Connection* c = event::connection_of(rev);
    Request* r = http_of(c)->request;
    if (rev->timedout) {
        // Part of a request came: nginx logs it with 408 (and sends nothing).
        log_conn(c, LogLevel::info, ETIMEDOUT, "client timed out");
        log_unfinished(r, 408);
        close_timed_out_connection(c);
        return;
    }
    if (c->close) {
        close_http_connection(c);
        return;
    }
    parse_head(r);
}

// A request whose head never arrived whole is logged with `status` (408 for a
// timeout, 400 for a client that broke off), as nginx's free-request step logs it;
// nothing is sent.
void log_unfinished(Request* r, int status) {
    r->status = status;
    take_parsed_line(r);
    log_request(r);
}

// What the request line gave, for a request that failed later in its head: its
// arguments ($args) and, once the line is complete, its method (an error page for a
// HEAD stays without a body).
void take_parsed_line(Request* r) {
    const RequestHead& head = r->parser.head();
    r->args = head.args;
    if (!head.request_line.empty() && head.method != Method::unknown) {
        r->method = head.method;
        r->header_only = head.method == Method::head;
    }
}

// The head failed: the response that follows is written under send_timeout, and
// nothing more is parsed on this connection.
void end_head(Request* r) {
    take_parsed_line(r);
    r->c->loop->del_timer(&r->c->read);
    r->c->read.handler = responding_read_handler;
}

// Moves the unfinished line to a large buffer; false when it cannot grow.
bool grow_buffer(Request* r) {
    ServerConfig& srv = r->server != nullptr ? *r->server : default_server(r->hc);
    const std::size_t start = r->parser.element_start();
    const std::size_t pending = r->len - start;
    const std::size_t size = srv.large_header_buffer_size;
    if (pending >= size || r->large_used >= srv.large_header_buffers ||
        r->large_used >= Request::k_max_large_buffers) {
        return false;
    }
    auto* large = static_cast<char*>(r->arena->allocate(size, 1));
    if (large == nullptr) {
        return false;
    }
    std::memcpy(large, r->buf + start, pending);
    r->parser.rebase(start);
    r->buf = large;
    r->len = pending;
    r->cap = size;
    ++r->large_used;
    return true;
}

void parse_head(Request* r) {
    Connection* c = r->c;
    for (;;) {
        const core::Status status = r->parser.parse(r->buf, r->len);
        if (status == core::Status::ok) {
            break;
        }
        if (status == core::Status::error) {
            end_head(r);
            log_conn(c, LogLevel::info, 0, std::string(describe(r->parser.error())).c_str());
            r->keepalive = false;
            finalize_request(r, r->parser.status());
            return;
        }
        if (r->len == r->cap && !grow_buffer(r)) {
            end_head(r);
            r->parser.fail_overflow();
            log_conn(c, LogLevel::info, 0, std::string(describe(r->parser.error())).c_str());
            finalize_request(r, r->parser.status());
            return;
        }
        const ssize_t n = event::recv(c, r->buf + r->len, r->cap - r->len);
        if (n == event::k_io_again) {
            ServerConfig& srv = r->server != nullptr ? *r->server : default_server(r->hc);
            c->loop->add_timer(&c->read, srv.client_header_timeout);
            if (c->loop->handle_read_event(&c->read) != core::Status::ok) {
                close_http_connection(c);
            }
            return;
        }
        if (n <= 0) {
            log_conn(c, LogLevel::info, n < 0 ? errno : 0,
                     "client prematurely closed connection while reading client request headers");
            log_unfinished(r, 400);  // as nginx: a request broken off is a bad request
            close_http_connection(c);
            return;
        }
        r->len += static_cast<std::size_t>(n);
    }

    // The head is complete.
    c->loop->del_timer(&c->read);
    r->stat_reading = false;
    r->stat_writing = true;
    c->loop->add_gauge(&event::ConnectionStats::reading, -1);
    c->loop->add_gauge(&event::ConnectionStats::writing, 1);
    const RequestHead& head = r->parser.head();
    if (r->server == nullptr) {
        r->server = &default_server(r->hc);
    }
    r->request_length = r->parser.consumed();
    r->uri = head.path;
    r->header_only = head.method == Method::head;
    r->keepalive = head.keepalive_requested();
    c->read.handler = responding_read_handler;

    // A request body is read and thrown away; a static site never needs one.
    r->body_left = head.content_length > 0 ? head.content_length : 0;
    r->body_done = r->body_left == 0 && !head.chunked;
    if (head.chunked) {
        r->chunked = r->arena->make<ChunkedParser>();
    }
    r->args = head.args;
    r->method = head.method;
    process_uri(r);
}

}  // namespace

namespace {

// "<text> \"<name>\"" at [error], with the request's context.
void log_request_error(Request* r, const char* text, std::string_view name) {
    core::Log& log = r->c->loop->log();
    if (log.enabled(LogLevel::error)) {
        log.write_conn(LogLevel::error, 0, r->c->number, request_log_context, r, "%s \"%.*s\"",
                       text, static_cast<int>(name.size()), name.data());
    }
}

// The phases after the location is chosen (nginx's location rewrite, access,
// try_files and content phases); a named location starts here too.
void run_location(Request* r, bool server_rewrite) {
    if (server_rewrite && r->server->location.return_code != 0) {
        r->loc = &r->server->location;
        return_handler(r);
        return;
    }
    if (r->loc->return_code != 0) {
        return_handler(r);
        return;
    }
    if (!check_access(r)) {
        return;  // 403, after `return` as nginx's access phase follows its rewrite phase
    }
    if (!try_files_phase(r)) {
        return;  // redirected or finalized
    }
    if (r->loc->stub_status) {
        status_handler(r);
        return;
    }
    static_handler(r);
}

// Chooses the location for r->uri and runs it (nginx's find-config phase).
void process_uri(Request* r) {
    std::string regex_error;
    r->loc = find_location(*r->server, r->uri, r->arena, &r->captures, &regex_error);
    if (r->loc == nullptr) {
        r->c->loop->log().write_conn(LogLevel::alert, 0, r->c->number, request_log_context, r, "%s",
                                     regex_error.c_str());
        r->loc = &r->server->location;
        finalize_request(r, 500);
        return;
    }
    if (r->loc->internal && !r->internal) {
        finalize_request(r, 404);  // `internal`: not for the client to ask for
        return;
    }
    const RequestHead& head = r->parser.head();
    if (r->loc->client_max_body_size > 0 && head.content_length > r->loc->client_max_body_size) {
        r->c->loop->log().write_conn(LogLevel::error, 0, r->c->number, nullptr, nullptr,
                                     "client intended to send too large body: %lld bytes",
                                     static_cast<long long>(head.content_length));
        r->keepalive = false;
        r->expect_tested = true;  // refused: the client must not be invited to send it
        finalize_request(r, 413);
        return;
    }
    run_location(r, true);
}

// Counts an internal redirect: false (and 500) past nginx's limit of 10.
bool count_redirect(Request* r, const char* text, std::string_view target) {
    if (++r->redirects > Request::k_max_redirects) {
        log_request_error(r, text, target);
        finalize_request(r, 500);
        return false;
    }
    r->internal = true;
    return true;
}

}  // namespace

void internal_redirect(Request* r, std::string_view uri) {
    internal_redirect(r, uri, r->args);
}

void internal_redirect(Request* r, std::string_view uri, std::string_view args) {
    if (!count_redirect(r, "rewrite or internal redirection cycle while internally redirecting to",
                        uri)) {
        return;
    }
    r->uri = uri;
    r->args = args;
    process_uri(r);
}

void named_location(Request* r, std::string_view name) {
    if (!count_redirect(r, "rewrite or internal redirection cycle while redirect to named location",
                        name)) {
        return;
    }
    LocationConfig* loc = find_named_location(*r->server, name);
    if (loc == nullptr) {
        log_request_error(r, "could not find named location", name);
        finalize_request(r, 500);
        return;
    }
    r->loc = loc;
    run_location(r, false);
}

namespace {

// "Expect: 100-continue" (nginx's ngx_http_test_expect): the client waits for a
// go-ahead before sending the body, so send it when we start reading the body, once,
// unless the body has already begun to arrive (the client did not wait) or the
// request was refused. An interim response this small always fits an empty socket
// buffer; if it does not go out whole, the connection is unusable.
bool send_continue(Request* r, std::size_t body_bytes_here) {
    const RequestHead& head = r->parser.head();
    if (r->expect_tested || !head.expect_100_continue || head.http_version < 1001) {
        return true;
    }
    r->expect_tested = true;
    if (body_bytes_here > 0 || r->body_done) {
        return true;
    }
    static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
    const ssize_t n = event::send(r->c, k_continue.data(), k_continue.size());
    if (n != static_cast<ssize_t>(k_continue.size())) {
        log_conn(r->c, LogLevel::info, n < 0 ? errno : 0, "sending \"100 Continue\" failed");
        return false;
    }
    return true;
}

}  // namespace

// Reads and drops what is available of the request body: ok once all of it is
// read, again when the rest has not arrived yet, error when the client broke off
// or sent a malformed chunked body. Body bytes already in the header buffer are
// accounted for there, so the bytes after them (a pipelined request) are kept;
// from the socket, a body of known length is read no further than its end.
core::Status discard_body(Request* r) {
    if (r->body_done) {
        return core::Status::ok;
    }
    if (!r->body_buffer_seen) {
        r->body_buffer_seen = true;
        const std::size_t after_head = r->parser.consumed();
        const std::size_t have = r->len > after_head ? r->len - after_head : 0;
        const char* data = r->buf + after_head;
        if (r->chunked != nullptr) {
            std::size_t pos = 0;
            std::string_view chunk;
            while (pos < have && !r->chunked->done()) {
                if (r->chunked->parse(std::string_view(data, have), pos, chunk) ==
                    core::Status::error) {
                    return core::Status::error;
                }
            }
            r->body_in_buffer = pos;
        } else {
            const auto take = std::min<std::int64_t>(static_cast<std::int64_t>(have), r->body_left);
            r->body_left -= take;
            r->body_in_buffer = static_cast<std::size_t>(take);
        }
        if (!send_continue(r, have)) {
            return core::Status::error;
        }
    }
    char scratch[4096];
    for (;;) {
        if ((r->chunked != nullptr && r->chunked->done()) ||
            (r->chunked == nullptr && r->body_left == 0)) {
            r->body_done = true;
            return core::Status::ok;
        }
        std::size_t want = sizeof(scratch);
        if (r->chunked == nullptr) {
            want = static_cast<std::size_t>(
                std::min<std::int64_t>(r->body_left, static_cast<std::int64_t>(want)));
        }
        const ssize_t n = event::recv(r->c, scratch, want);
        if (n == event::k_io_again) {
            return core::Status::again;
        }
        if (n <= 0) {
            return core::Status::error;
        }
        if (r->chunked != nullptr) {
            std::size_t pos = 0;
            std::string_view chunk;
            while (pos < static_cast<std::size_t>(n) && !r->chunked->done()) {
                if (r->chunked->parse(std::string_view(scratch, static_cast<std::size_t>(n)), pos,
                                      chunk) == core::Status::error) {
                    return core::Status::error;
                }
            }
            if (r->chunked->done() && pos < static_cast<std::size_t>(n)) {
                // A chunked body has no length to stop a read at: what follows it
                // belongs to the next request.
                r->tail_len = static_cast<std::size_t>(n) - pos;
                char* tail = static_cast<char*>(r->arena->allocate(r->tail_len, 1));
                if (tail == nullptr) {
                    return core::Status::error;
                }
                std::memcpy(tail, scratch + pos, r->tail_len);
                r->tail = tail;
            }
        } else {
            r->body_left -= n;
        }
    }
}

void finalize_request(Request* r, int status) {
    if (status == k_close_without_response) {
        // nginx's 444: logged, then the connection is dropped without a byte, and
        // counts as timed out, so reset_timedout_connection resets it.
        r->status = status;
        log_request(r);
        close_timed_out_connection(r->c);
        return;
    }
    if (status != 0) {
        // An error (or special) response: the location's error_page, or nginx's page.
        // A 304 is no error: nginx's not-modified filter sends it, never error_page.
        if (status >= 300 && status != 304 && send_error_page(r, status)) {
            return;
        }
        prepare_special_response(r, status);
    } else if (r->err_status != 0) {
        // The error page's content goes out with the error's status (or error_page's
        // =code); Last-Modified and ranges belong to a 200 only.
        r->status = r->err_status;
        if (r->status != 200) {
            r->last_modified = -1;
            r->accept_ranges = false;
        }
    }
    send_response(r);
}

namespace {

// The response is out but the client is still sending the request body: read and
// drop it (bounded by lingering_timeout between reads), then go on with keepalive,
// as nginx's discarded-body handler does.
void discarding_body_handler(Event* rev) {
    Connection* c = event::connection_of(rev);
    Request* r = http_of(c)->request;
    if (rev->timedout) {
        log_conn(c, LogLevel::info, ETIMEDOUT, "client timed out while discarding request body");
        close_timed_out_connection(c);
        return;
    }
    if (c->close || c->loop->time().msec() >= r->discard_deadline) {
        // lingering_time is up: a client trickling a body holds the slot no longer.
        close_http_connection(c);
        return;
    }
    switch (discard_body(r)) {
        case core::Status::ok:
            c->loop->del_timer(rev);
            set_keepalive(r);
            return;
        case core::Status::again:
            c->loop->add_timer(
                rev, (r->loc != nullptr ? *r->loc : r->server->location).lingering_timeout);
            if (c->loop->handle_read_event(rev) != core::Status::ok) {
                close_http_connection(c);
            }
            return;
        default:
            close_http_connection(c);
            return;
    }
}

}  // namespace

bool input_left(const Request* r) {
    if (!r->body_done || r->tail_len > 0) {
        return true;
    }
    if (r->len > r->parser.consumed() + r->body_in_buffer) {
        return true;  // pipelined bytes, or what a request refused half-way left unread
    }
    const Event& rev = r->c->read;
    return rev.ready && !rev.eof;
}

void response_sent(Request* r) {
    log_request(r);
    if (r->keepalive && g_exiting) {
        // A response that finished during a graceful shutdown: nothing more will
        // be served on this connection, and the worker is waiting for it.
        r->keepalive = false;
    }
    if (r->keepalive && !r->body_done) {
        const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
        r->discard_deadline = r->c->loop->time().msec() + loc.lingering_time;
        r->c->read.handler = discarding_body_handler;
        discarding_body_handler(&r->c->read);
    } else if (r->keepalive) {
        set_keepalive(r);
    } else if (input_left(r) ||
               (r->loc != nullptr ? *r->loc : r->server->location).lingering_close ==
                   LingeringClose::always) {
        lingering_close(r);
    } else {
        // Nothing unread: close at once, as nginx does (no RST can come of it).
        close_http_connection(r->c);
    }
}

namespace {

void set_keepalive(Request* r) {
    Connection* c = r->c;
    HttpConnection* hc = r->hc;
    event::Loop& loop = *c->loop;
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    ++hc->requests;

    // Bytes of the next request that arrived with this one are kept, never read twice.
    const std::size_t consumed = r->parser.consumed() + r->body_in_buffer;
    std::size_t left = r->len > consumed ? r->len - consumed : 0;
    const char* rest = r->buf + consumed;
    if (r->tail != nullptr) {
        rest = r->tail;
        left = r->tail_len;
    }
    if (left > hc->buffer_size) {
        // More pipelined bytes than the small buffer holds (they came in a large
        // buffer): keep them in a buffer of their own size.
        char* bigger = get_buffer(left);
        if (bigger == nullptr) {
            close_http_connection(c);
            return;
        }
        std::memcpy(bigger, rest, left);
        put_buffer(hc->buffer, hc->buffer_size);
        hc->buffer = bigger;
        hc->buffer_size = left;
    } else if (left > 0) {
        std::memmove(hc->buffer, rest, left);  // may overlap: rest can be in hc->buffer
    }
    hc->buffer_len = left;

    free_request(hc);

    if (loc.tcp_nodelay && !hc->tcp_nodelay_set) {
        // Once per connection: the option stays set (nginx's c->tcp_nodelay state).
        const int on = 1;
        ::setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        hc->tcp_nodelay_set = true;
    }
    c->read.handler = wait_request_handler;
    c->write.handler = empty_handler;
    if (hc->buffer_len > 0) {
        // Pipelined: the next request is already here.
        start_request(c);
        return;
    }
    put_buffer(hc->buffer, hc->buffer_size);
    hc->buffer = nullptr;
    loop.add_timer(&c->read, loc.keepalive_timeout);
    loop.pool().set_reusable(c, true);
    if (c->read.ready) {
        loop.post(&c->read);
        return;
    }
    if (loop.handle_read_event(&c->read) != core::Status::ok) {
        close_http_connection(c);
    }
}

// The client may still be sending a body we did not read: closing now would make
// the kernel reset the connection and the client could lose our response. Stop
// writing, read and discard for a while, then close (nginx's lingering close).
void lingering_handler(Event* rev) {
    Connection* c = event::connection_of(rev);
    HttpConnection* hc = http_of(c);
    // hc->start holds the lingering_time deadline here.
    if (rev->timedout || c->close || c->loop->time().msec() >= hc->start) {
        close_http_connection(c);
        return;
    }
    char scratch[4096];
    for (;;) {
        const ssize_t n = event::recv(c, scratch, sizeof(scratch));
        if (n == event::k_io_again) {
            break;
        }
        if (n <= 0) {
            close_http_connection(c);
            return;
        }
    }
    // The next read may wait lingering_timeout, and never past lingering_time.
    c->loop->add_timer(rev, std::min(hc->lingering_timeout, hc->start - c->loop->time().msec()));
    if (c->loop->handle_read_event(rev) != core::Status::ok) {
        close_http_connection(c);
    }
}

void lingering_close(Request* r) {
    Connection* c = r->c;
    HttpConnection* hc = r->hc;
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    if (loc.lingering_close == LingeringClose::off) {
        close_http_connection(c);
        return;
    }
    free_request(hc);
    ::shutdown(c->fd, SHUT_WR);
    hc->start = c->loop->time().msec() + loc.lingering_time;  // the deadline
    hc->lingering_timeout = loc.lingering_timeout;
    c->read.handler = lingering_handler;
    c->loop->add_timer(&c->read, loc.lingering_timeout);
    if (c->loop->handle_read_event(&c->read) != core::Status::ok) {
        close_http_connection(c);
    }
}

}  // namespace

void begin_graceful_shutdown() {
    g_exiting = true;
}

bool worker_exiting() {
    return g_exiting;
}

void release_worker_caches() {
    release_open_file_caches();
    for (auto& [size, b] : g_caches.buffers) {
        std::free(b);
    }
    g_caches.buffers.clear();
    for (core::Arena* a : g_caches.arenas) {
        delete a;
    }
    g_caches.arenas.clear();
}

}  // namespace evs::http

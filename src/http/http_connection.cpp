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
#include "http/http_connection_internal.hpp"
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

}  // namespace

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

void read_head_handler(Event* rev);
void parse_head(Request* r);
void process_uri(Request* r);
void log_unfinished(Request* r, int status);
void take_parsed_line(Request* r);

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

namespace {

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

// After the handler: the request body read and dropped (with "100 Continue" when the
// client waits for it), then the connection kept alive for the next request (bytes
// of a pipelined request kept, the request's memory freed) or closed: at once when
// nothing is left unread, else after nginx's lingering close.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "event/io.hpp"
#include "event/loop.hpp"
#include "http/access_log.hpp"
#include "http/chunked_parser.hpp"
#include "http/config.hpp"
#include "http/http_connection_internal.hpp"
#include "http/request.hpp"

namespace evs::http {

using core::LogLevel;
using event::Connection;
using event::Event;

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

namespace {

void set_keepalive(Request* r);
void lingering_close(Request* r);

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
    if (r->keepalive && worker_exiting()) {
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

}  // namespace evs::http

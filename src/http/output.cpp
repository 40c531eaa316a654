// Writing the response: nginx's header filter (the head, rendered once, headers in
// nginx's order) and write filter (memory parts gathered with writev, file parts
// with sendfile or read into a buffer, resumed on the write event after EAGAIN).
//
// System calls per response, the point of this file: a file the open file cache
// holds in memory leaves with its head in one writev(); a file sent with sendfile()
// takes the head with MSG_MORE (tcp_nopush, or a head shorter than postpone_output)
// and one sendfile() per sendfile_max_chunk. TCP_CORK (tcp_nopush) is set only when
// the file needs more than one pass (EAGAIN, or the chunk limit, after which the
// worker serves other connections first), and cleared when the response ends; a
// response sent in one pass needs no setsockopt(). A response is always complete
// here, so postpone_output has nothing else to hold back.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "event/file_read.hpp"
#include "event/io.hpp"
#include "event/loop.hpp"
#include "http/file_read.hpp"
#include "http/headers_filter.hpp"
#include "http/limit_rate.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/thread_sendfile.hpp"

namespace evs::http {

using core::LogLevel;
using event::Connection;
using event::Event;

namespace {

void write_handler(Event* wev) {
    Connection* c = event::connection_of(wev);
    Request* r = static_cast<HttpConnection*>(c->data)->request;
    if (wev->timedout) {
        if (!r->rate_delayed) {
            log_conn(c, LogLevel::info, ETIMEDOUT, "client timed out while sending response");
            close_timed_out_connection(c);
            return;
        }
        // The end of a limit_rate delay, not a timeout.
        wev->timedout = 0;
        r->rate_delayed = false;
    } else if (r->rate_delayed) {
        // Writable during a limit_rate delay: the timer resumes the response.
        if (c->loop->handle_write_event(wev) != core::Status::ok) {
            close_http_connection(c);
        }
        return;
    }
    send_response(r);
}

}  // namespace

void send_response(Request* r) {
    Connection* c = r->c;
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    event::Loop& loop = *c->loop;

    if (r->head == nullptr) {
        // Render the head once: status line and nginx's headers, in nginx's order.
        const RequestHead& head = r->parser.head();
        if (discard_body(r) == core::Status::error) {
            r->keepalive = false;
        }
        const std::uint64_t max_requests = loc.keepalive_requests;
        if (r->keepalive && (loc.keepalive_timeout == 0 || c->requests >= max_requests ||
                             loop.time().msec() - r->hc->start > loc.keepalive_time)) {
            r->keepalive = false;
        }
        if (head.http_version < 1000 || worker_exiting()) {
            r->keepalive = false;
        }
        // add_header, expires, charset: nothing at all for a location without them.
        std::string_view extra;
        std::size_t extra_cap = 0;
        if (loc.headers_filter != nullptr) {
            extra = run_headers_filter(r, *loc.headers_filter);
            extra_cap = extra.size() + r->etag.size() + r->last_modified_text.size();
        }
        const std::size_t cap =
            1024 + r->location_header.size() + r->content_type.size() + extra_cap;
        char* out = static_cast<char*>(r->arena->allocate(cap, 1));
        if (out == nullptr) {
            close_http_connection(c);
            return;
        }
        std::size_t n = 0;
        auto add = [&](std::string_view text) {
            const std::size_t k = std::min(text.size(), cap - n);
            std::memcpy(out + n, text.data(), k);
            n += k;
        };
        auto add_number = [&](long long value) {
            char digits[24];
            const int k = std::snprintf(digits, sizeof(digits), "%lld", value);
            add(std::string_view(digits, static_cast<std::size_t>(k)));
        };
        const std::string_view status_text = status_line_text(r->status);
        add("HTTP/1.1 ");
        if (status_text.empty()) {
            add_number(r->status);
            add(" ");
        } else {
            add(status_text);
        }
        add("\r\nServer: ");
        add(server_signature(loc.server_tokens));
        add("\r\nDate: ");
        add(loop.time().http_date());
        add("\r\n");
        if (!r->content_type.empty() && r->status != 304) {
            add("Content-Type: ");
            add(r->content_type);
            add("\r\n");
        }
        if (r->content_length >= 0 && r->status != 304) {
            add("Content-Length: ");
            add_number(r->content_length);
            add("\r\n");
        }
        if (r->last_modified >= 0 && !r->last_modified_text.empty()) {
            add("Last-Modified: ");
            add(r->last_modified_text);
            add("\r\n");
        } else if (r->last_modified >= 0) {
            char when[64];
            const std::size_t w = format_http_time(r->last_modified, when, sizeof(when));
            add("Last-Modified: ");
            add(std::string_view(when, w));
            add("\r\n");
        }
        if (!r->content_range.empty()) {
            add("Content-Range: ");
            add(r->content_range);
            add("\r\n");
        }
        if (!r->location_header.empty()) {
            add("Location: ");
            add(r->location_header);
            add("\r\n");
        }
        add(r->keepalive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
        if (r->keepalive && loc.keepalive_header >= 0) {
            add("Keep-Alive: timeout=");
            add_number(loc.keepalive_header);
            add("\r\n");
        }
        if (!r->etag.empty()) {
            add("ETag: ");
            add(r->etag);
            add("\r\n");
        }
        if (!extra.empty()) {
            add(extra);
        }
        if (r->accept_ranges) {
            add("Accept-Ranges: bytes\r\n");
        }
        add("\r\n");
        r->head = out;
        r->head_len = head.http_version == 9 ? 0 : n;  // HTTP/0.9 has no head
        if (r->header_only) {
            r->mem_len = 0;
            r->file_pos = r->file_end;
            r->parts_count = 0;
        }
        r->use_sendfile = loc.sendfile && r->fd >= 0 && r->file_mem == nullptr && !r->directio;
        c->write.handler = write_handler;
    }

    if (thread_send_busy(r)) {
        // A pool thread is sending (aio threads): nothing is written meanwhile, and
        // the task's completion calls this again. A level-triggered backend must
        // not keep reporting the writable socket until then.
        if (loop.handle_write_event(&c->write) != core::Status::ok) {
            close_http_connection(c);
        }
        return;
    }

    if (r->parts_count > 0) {
        send_parts(r);  // a multipart body
        return;
    }

    // Write until done or the socket is full.
    for (;;) {
        if (r->fd >= 0 && r->file_mem == nullptr && !r->use_sendfile &&
            r->file_buf_sent == r->file_buf_len && r->file_pos < r->file_end) {
            // Read the next part of the file (http/file_read.hpp); a small file goes
            // out with the head in one writev().
            const ssize_t got = read_file_part(r, r->file_pos, r->file_end, &r->file_buf);
            if (got == event::k_io_again) {
                return;  // the read's completion calls send_response() again
            }
            if (got <= 0) {
                close_http_connection(c);
                return;
            }
            r->file_pos += got;
            r->file_buf_len = static_cast<std::size_t>(got);
            r->file_buf_sent = 0;
        }
        iovec iov[4];
        int count = 0;
        std::size_t pending = 0;
        auto add_part = [&](const char* data, std::size_t size) {
            iov[count++] = {const_cast<char*>(data), size};
            pending += size;
        };
        if (r->head_sent < r->head_len) {
            add_part(r->head + r->head_sent, r->head_len - r->head_sent);
        }
        if (r->mem_sent < r->mem_len) {
            add_part(r->mem + r->mem_sent, r->mem_len - r->mem_sent);
        }
        if (r->file_buf_sent < r->file_buf_len) {
            add_part(r->file_buf + r->file_buf_sent, r->file_buf_len - r->file_buf_sent);
        }
        if (r->file_mem != nullptr && r->file_pos < r->file_end) {
            add_part(r->file_mem + r->file_pos,
                     static_cast<std::size_t>(r->file_end - r->file_pos));
        }
        const bool file_follows = r->use_sendfile && r->file_pos < r->file_end;
        std::size_t budget = SIZE_MAX;
        if (loc.limit_rate != 0 && (count > 0 || file_follows)) {
            const std::uint64_t left =
                pending +
                (file_follows ? static_cast<std::uint64_t>(r->file_end - r->file_pos) : 0) +
                (r->file_mem == nullptr && !r->use_sendfile
                     ? static_cast<std::uint64_t>(r->file_end - r->file_pos)
                     : 0);
            budget = rate_budget(r, loc, left);
            if (budget == 0) {
                return;  // the delay's timer resumes the response
            }
            count = clamp_iov(iov, count, budget);
            pending = std::min(pending, budget);
        }
        ssize_t n;
        bool chunk_limited = false;
        if (count > 0) {
            // The head before a file that goes out with sendfile(): with tcp_nopush,
            // or when it is smaller than postpone_output, it is not pushed as a packet
            // of its own but leaves with the file's first bytes (MSG_MORE: the kernel
            // holds it for the sendfile() that follows, without a setsockopt()).
            //
            // The last bytes of a response after which the connection closes go the
            // same way: close() (or lingering close's shutdown()) follows at once and
            // sends its FIN in the packet that carries them, so the client gets one
            // packet and answers with one, as nginx's corked close does. Not when
            // close() would reset the connection (unread input with lingering_close
            // off): a reset drops what is still held.
            const bool closes_after =
                !r->keepalive && !file_follows &&
                (r->file_mem != nullptr || r->use_sendfile || r->file_pos >= r->file_end) &&
                (loc.lingering_close != LingeringClose::off || !input_left(r));
            if ((file_follows && (loc.tcp_nopush || pending < loc.postpone_output)) ||
                closes_after) {
                n = event::writev_more(c, iov, count);
            } else {
                n = event::writev(c, iov, count);
            }
        } else if (file_follows) {
            auto chunk = static_cast<std::size_t>(r->file_end - r->file_pos);
            if (loc.sendfile_max_chunk > 0 && chunk > loc.sendfile_max_chunk) {
                chunk = static_cast<std::size_t>(loc.sendfile_max_chunk);
                chunk_limited = true;
            }
            chunk = std::min(chunk, budget);              // limit_rate: the loop asks again
            n = send_file_chunk(r, &r->file_pos, chunk);  // in the loop or the pool
            if (n == 0) {
                loop.log().write_conn(LogLevel::crit, 0, c->number, nullptr, nullptr,
                                      "sendfile() reported that the file was truncated");
                close_http_connection(c);
                return;
            }
        } else {
            break;  // all sent
        }
        // A sendfile() that sent less than asked found the socket full (or its
        // unsent part at TCP_NOTSENT_LOWAT): wait for the write event, as after
        // EAGAIN, instead of asking again only to be told EAGAIN (nginx does the same).
        const bool partial = file_follows && n > 0 && !c->write.ready && r->file_pos < r->file_end;
        if (n == event::k_io_again || partial || (chunk_limited && n > 0)) {
            if (r->use_sendfile && r->file_pos < r->file_end && loc.tcp_nopush && !r->corked &&
                !thread_send_busy(r)) {
                // The file takes more than this pass: cork until the response ends
                // so that no partial segment leaves between the passes (nginx's
                // tcp_nopush). A response sent in one pass never pays for it, nor
                // does a task just handed to the pool: that is not a pass yet (its
                // result, if partial, corks when it is taken).
                const int on = 1;
                if (::setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0) {
                    r->corked = true;
                }
                if (loop.log().enabled(LogLevel::debug)) {
                    loop.log().write_conn(LogLevel::debug, 0, c->number, nullptr, nullptr,
                                          "tcp_nopush: TCP_CORK set");
                }
            }
            loop.add_timer(&c->write, loc.send_timeout);
            if (n != event::k_io_again && !partial) {
                // sendfile_max_chunk: the socket could take more, but other
                // connections get their turn first (the write event runs again on
                // the next loop turn).
                loop.post(&c->write, event::PostedQueue::next);
                return;
            }
            if (loop.handle_write_event(&c->write) != core::Status::ok) {
                close_http_connection(c);
            }
            return;
        }
        if (n < 0) {
            if (event::pool_refused(n, errno)) {
                close_http_connection(c);  // the pool's "queue overflow" line says it
                return;
            }
            log_conn(c, LogLevel::info, errno,
                     count > 0 ? "writev() failed while sending response to client"
                               : "sendfile() failed while sending response to client");
            close_http_connection(c);
            return;
        }
        auto left = static_cast<std::size_t>(n);
        if (count > 0) {
            auto take = [&](std::size_t& sent, std::size_t total) {
                const std::size_t d = std::min(left, total - sent);
                sent += d;
                left -= d;
            };
            take(r->head_sent, r->head_len);
            take(r->mem_sent, r->mem_len);
            take(r->file_buf_sent, r->file_buf_len);
            if (r->file_mem != nullptr) {
                const auto d = std::min<off_t>(static_cast<off_t>(left), r->file_end - r->file_pos);
                r->file_pos += d;
            }
        }
    }
    loop.del_timer(&c->write);
    if (c->write.active && !(loop.capabilities() & event::k_use_clear)) {
        loop.handle_write_event(&c->write, event::k_close_event);
    }
    if (r->corked) {
        // Pushes the last partial segment at once.
        const int off = 0;
        ::setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
        r->corked = false;
        if (loop.log().enabled(LogLevel::debug)) {
            loop.log().write_conn(LogLevel::debug, 0, c->number, nullptr, nullptr,
                                  "tcp_nopush: TCP_CORK cleared");
        }
    }
    response_sent(r);
}

}  // namespace evs::http

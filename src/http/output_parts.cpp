// The writer of a body laid out as parts (a multipart/byteranges response): the
// head and the small memory parts are gathered into one writev, file ranges go out
// with sendfile (or, with sendfile off, are read into a buffer a chunk at a time),
// so no file byte is copied to memory when sendfile is on. Resumed on the write
// event after EAGAIN, under send_timeout, as send_response is.

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "event/file_read.hpp"
#include "event/io.hpp"
#include "event/loop.hpp"
#include "http/file_read.hpp"
#include "http/limit_rate.hpp"
#include "http/request.hpp"
#include "http/thread_sendfile.hpp"

namespace evs::http {

using core::LogLevel;

namespace {

// Enough to gather many small ranges per call while keeping the array on the stack.
constexpr int k_max_iov = 64;

bool part_done(const Request* r, const OutputPart& part) {
    if (part.mem != nullptr) {
        return part.sent == part.len;
    }
    return part.file_pos == part.file_end && r->file_buf_sent == r->file_buf_len;
}

}  // namespace

void send_parts(Request* r) {
    event::Connection* c = r->c;
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    event::Loop& loop = *c->loop;

    for (;;) {
        while (r->part_index < r->parts_count && part_done(r, r->parts[r->part_index])) {
            ++r->part_index;
        }
        iovec iov[k_max_iov];
        int count = 0;
        if (r->head_sent < r->head_len) {
            iov[count++] = {const_cast<char*>(r->head + r->head_sent), r->head_len - r->head_sent};
        }
        // Gather memory parts up to the first file part; without sendfile the file
        // part's next chunk joins them.
        OutputPart* file_part = nullptr;
        for (std::size_t i = r->part_index; i < r->parts_count && count < k_max_iov; ++i) {
            OutputPart& part = r->parts[i];
            if (part.mem != nullptr) {
                if (part.sent < part.len) {
                    iov[count++] = {const_cast<char*>(part.mem + part.sent), part.len - part.sent};
                }
                continue;
            }
            file_part = &part;
            if (r->use_sendfile) {
                break;
            }
            if (r->file_buf_sent == r->file_buf_len && part.file_pos < part.file_end) {
                const ssize_t got = read_file_part(r, part.file_pos, part.file_end, &r->file_buf);
                if (got == event::k_io_again) {
                    // The read's completion calls send_response() again, which comes
                    // back here; what is gathered so far waits for it.
                    return;
                }
                if (got <= 0) {
                    close_http_connection(c);
                    return;
                }
                part.file_pos += got;
                r->file_buf_len = static_cast<std::size_t>(got);
                r->file_buf_sent = 0;
            }
            iov[count++] = {r->file_buf + r->file_buf_sent, r->file_buf_len - r->file_buf_sent};
            break;
        }

        std::size_t budget = SIZE_MAX;
        if (loc.limit_rate != 0 && (count > 0 || file_part != nullptr)) {
            // What is left is not summed over the parts: a chunk's worth will do.
            budget = rate_budget(r, loc, UINT64_MAX);
            if (budget == 0) {
                return;  // the delay's timer resumes the response
            }
            count = clamp_iov(iov, count, budget);
        }
        ssize_t n;
        if (count > 0) {
            n = event::writev(c, iov, count);
        } else if (file_part != nullptr && r->use_sendfile) {
            // sendfile_max_chunk 0 is no limit, as in nginx.
            auto chunk = static_cast<std::size_t>(file_part->file_end - file_part->file_pos);
            if (loc.sendfile_max_chunk > 0) {
                chunk = std::min(chunk, static_cast<std::size_t>(loc.sendfile_max_chunk));
            }
            chunk = std::min(chunk, budget);
            n = send_file_chunk(r, &file_part->file_pos, chunk);  // in the loop or the pool
            if (n == 0) {
                loop.log().write_conn(LogLevel::crit, 0, c->number, nullptr, nullptr,
                                      "sendfile() reported that the file was truncated");
                close_http_connection(c);
                return;
            }
        } else {
            break;  // all sent
        }
        if (n == event::k_io_again) {
            loop.add_timer(&c->write, loc.send_timeout);
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
        if (count == 0) {
            continue;  // sendfile advanced the part's position itself
        }
        // Account what writev took, in the order the iovecs were built.
        auto left = static_cast<std::size_t>(n);
        const std::size_t head_take = std::min(left, r->head_len - r->head_sent);
        r->head_sent += head_take;
        left -= head_take;
        for (std::size_t i = r->part_index; i < r->parts_count && left > 0; ++i) {
            OutputPart& part = r->parts[i];
            if (part.mem != nullptr) {
                const std::size_t take = std::min(left, part.len - part.sent);
                part.sent += take;
                left -= take;
                continue;
            }
            const std::size_t take = std::min(left, r->file_buf_len - r->file_buf_sent);
            r->file_buf_sent += take;
            left -= take;
            break;
        }
    }
    loop.del_timer(&c->write);
    if (c->write.active && !(loop.capabilities() & event::k_use_clear)) {
        loop.handle_write_event(&c->write, event::k_close_event);
    }
    response_sent(r);
}

}  // namespace evs::http
